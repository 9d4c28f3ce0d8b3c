// `tessera agent --wallet`: the person's phone as this workstation's smart card (docs/mobile.md "Use
// at a workstation"). The agent pairs with the phone through the server — it shows a six-digit code,
// the phone shows the same and the person allows it there — then puts a card into the vsmartcard
// virtual reader of pcscd (as `tessera card emulate` does for the emulator) whose every APDU is
// relayed to the phone's wallet over the server. The wallet asks the person before each use of a
// private key. The pairing is kept (next to the agent identity) for the next run, and ends when the
// phone unpairs, when `--unpair-wallet` is run, or when either agent is revoked.
//
// It keeps itself connected as the ordinary agent does (the same back-off): when the server goes
// away the card leaves the reader (so a key operation fails at once instead of waiting), and on
// reconnecting it resumes the kept pairing without asking the phone again. Only an ended pairing,
// a pairing the phone refused or a refused agent token stops it for good.
import { WebSocket } from 'ws';
import { fromHex, toHex } from '../cards/bytes.js';
import { CLOSE } from '../cards/transport/agent-protocol.js';
import { VpcdCardBridge, type VpcdCard } from '../cards/transport/vpcd.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { tokenRefused } from './token-refused.js';

type Reply = { type: string } & Record<string, unknown>;

export interface WalletBridgeOptions {
  server: string;
  token: string;
  /** The pairing the phone allowed before, if any. */
  pairingId: string | null;
  savePairing: (id: string | null) => void;
  vpcd: { host: string; port: number };
  log: (line: string) => void;
  backoff?: BackoffOptions;
  /**
   * How often the relay pings the server (default 15 s): three periods without a word count as a
   * lost connection — a server that hangs (stopped, or a proxy that stops forwarding) is otherwise
   * silent, and pcscd would wait on the card meanwhile.
   */
  heartbeatMs?: number;
}

/** The default ping period of the relay: a silent server counts as lost after three (45 s). */
export const WALLET_HEARTBEAT_MS = 15_000;

/** The command the person runs again once paired (said with a refused token). */
const RUN_AGAIN = 'tessera agent --wallet';

/** Why `run` ended: stopped here, the pairing ended, or the server refused this agent or pairing. */
export type WalletOutcome = 'stopped' | 'unpaired' | 'refused';

/** The end of the run, with the reason to print: retrying cannot help. */
class Final extends Error {
  constructor(
    readonly outcome: Exclude<WalletOutcome, 'stopped'>,
    message: string,
  ) {
    super(message);
  }
}

/** How the relay socket closed: the server's close code, or ours (1006 when cut off). */
interface Closed {
  code: number;
  /** The server refused this agent's token while connected (revoked: 4001): for good. */
  refused: Final | undefined;
}

/** The relay socket: frames out, replies in order, APDU answers by id. */
class RelaySocket {
  private waiters: Array<{ accept: (r: Reply) => boolean; resolve: (r: Reply) => void }> = [];
  private apdus = new Map<string, (r: Reply) => void>();
  private nextId = 1;
  private listeners = new Set<(r: Reply) => void>();
  private heartbeat: NodeJS.Timeout | undefined;
  readonly closed: Promise<Closed>;

  constructor(
    private readonly ws: WebSocket,
    server: string,
    heartbeatMs: number,
    log: (line: string) => void,
  ) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) =>
        resolve({
          code,
          refused:
            code === CLOSE.REVOKED || code === CLOSE.UNAUTHORIZED
              ? new Final(
                  'refused',
                  tokenRefused(
                    server,
                    code === CLOSE.REVOKED ? 'the agent was revoked' : 'unknown token',
                    RUN_AGAIN,
                  ),
                )
              : undefined,
        }),
      ),
    );
    // A server that vanished without closing (power cut, network gone) or hangs (stopped, a proxy
    // that stops forwarding) answers no ping: after three periods the link counts as lost, so
    // nothing waits on it forever.
    let heard = Date.now();
    ws.on('pong', () => (heard = Date.now()));
    this.heartbeat = setInterval(() => {
      if (Date.now() - heard > 3 * heartbeatMs) {
        log(`No answer from the server for ${formatSeconds(3 * heartbeatMs)}: the connection counts as lost`);
        clearInterval(this.heartbeat);
        ws.terminate();
      } else if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, heartbeatMs);
    this.heartbeat.unref();
    void this.closed.then(() => clearInterval(this.heartbeat));
    ws.on('message', (data) => {
      heard = Date.now();
      let r: Reply;
      try {
        r = JSON.parse(String(data)) as Reply;
      } catch {
        return;
      }
      if ((r.type === 'apdu-result' || r.type === 'apdu-error') && typeof r.id === 'string') {
        this.apdus.get(r.id)?.(r);
        this.apdus.delete(r.id);
        return;
      }
      for (const l of this.listeners) l(r);
      const i = this.waiters.findIndex((w) => w.accept(r));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(r);
    });
  }

  static open(
    server: string,
    token: string,
    heartbeatMs: number,
    log: (line: string) => void,
  ): Promise<RelaySocket> {
    const url = `${server.replace(/\/$/, '').replace(/^http/, 'ws')}/api/wallet/relay`;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: 10_000,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RelaySocket(ws, server, heartbeatMs, log)));
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        ws.terminate();
        reject(
          status === 401 || status === 403
            ? new Final('refused', tokenRefused(server, `HTTP ${status}`, RUN_AGAIN))
            : new Error(`The server answered HTTP ${status} instead of opening the relay`),
        );
      });
      ws.once('error', reject);
    });
  }

  send(body: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ v: 1, ...body }));
  }

  /** The next reply `accept` takes (an error frame is taken by every wait). */
  next(accept: (r: Reply) => boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.closed.then(
        (c) => reject(c.refused ?? new Error('The connection to the server was lost')),
        reject,
      );
      this.waiters.push({ accept: (r) => r.type === 'error' || accept(r), resolve });
    });
  }

  on(listener: (r: Reply) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const id = String(this.nextId++);
    return new Promise((resolve) => {
      this.apdus.set(id, (r) =>
        // The phone could not answer (gone, or the pairing ended): "no precise diagnosis".
        resolve(r.type === 'apdu-result' ? fromHex(String(r.response)) : Uint8Array.of(0x6f, 0x00)),
      );
      this.send({ type: 'apdu', id, apdu: toHex(apdu) });
      void this.closed.then(() => {
        if (this.apdus.delete(id)) resolve(Uint8Array.of(0x6f, 0x00));
      });
    });
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(1000, 'agent stopped');
  }
}

/** Who ended a pairing, as the server names it, in the person's words. */
const ENDED_BY = new Map([
  ['phone', 'unpaired on the phone'],
  ['workstation', 'unpaired on this computer'],
  ['server', 'ended by the server'],
]);

/** The relay is up but the phone is not there (yet): worth another try, said as it is. */
class PhoneAway extends Error {}

/** An error frame about the pairing: "ended" and "unknown" are for good, anything else may pass. */
const pairingOver = (r: Reply): boolean =>
  r.type === 'error' && (r.code === 'conflict' || r.code === 'not_found');

export class WalletBridge {
  private relay: RelaySocket | undefined;
  private bridge: VpcdCardBridge | undefined;
  private readonly backoff: Backoff;
  private readonly heartbeatMs: number;
  /** The pairing this run uses once the phone allowed (or resumed) it. */
  private pairingId: string | null = null;

  constructor(private readonly o: WalletBridgeOptions) {
    this.backoff = new Backoff(o.backoff);
    this.heartbeatMs = o.heartbeatMs ?? WALLET_HEARTBEAT_MS;
  }

  /**
   * Pairs (or resumes the pairing) and makes the phone the card in vpcd's reader until `stop`, the
   * pairing ends or the server refuses; reconnects with back-off whenever the server goes away.
   */
  async run(stop: Promise<void>): Promise<WalletOutcome> {
    let stopped = false;
    const stopping = stop.then(() => {
      stopped = true;
      return 'stopped' as const;
    });
    // A stop interrupts whatever waits (the server, the phone, pcscd): closing ends those waits.
    void stopping.then(() => this.close());
    for (;;) {
      let connected = false;
      try {
        const outcome = await this.session(() => (connected = true));
        if (outcome === 'unpaired') return 'unpaired';
        if (!stopped) this.o.log('Disconnected from the server: the card is removed from the virtual reader');
      } catch (e) {
        await this.close();
        if (stopped) return 'stopped';
        if (e instanceof Final) {
          // An ended pairing, or a refused token (a revoked agent's pairings ended with it): forgotten.
          this.o.savePairing(null);
          this.o.log(`Stopped: ${e.message}`);
          return e.outcome;
        }
        const why = (e as Error).message;
        this.o.log(
          e instanceof PhoneAway ? why : `${connected ? 'Disconnected' : 'Could not connect'}: ${why}`,
        );
      }
      await this.close();
      if (stopped) return 'stopped';
      const delay = this.backoff.next();
      this.o.log(`Retrying in ${(delay / 1000).toFixed(1)} s`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopping, new Promise((r) => (timer = setTimeout(r, delay)))]);
      clearTimeout(timer);
      if (stopped) return 'stopped';
    }
  }

  /**
   * One connection: pair or resume, power the phone's card, put it into the reader, and wait until
   * the pairing ends ('unpaired') or the connection is lost ('lost').
   */
  private async session(onConnected: () => void): Promise<'unpaired' | 'lost'> {
    const relay = await RelaySocket.open(this.o.server, this.o.token, this.heartbeatMs, this.o.log);
    this.relay = relay;
    onConnected();
    const again = this.pairingId !== null;
    const pairingId = again ? await this.resume(relay, this.pairingId!) : await this.pair(relay);
    this.pairingId = pairingId;
    let endedBy: string | undefined;
    const ended = new Promise<'unpaired'>((resolve) =>
      relay.on((r) => {
        if (r.type === 'pairing' && r.id === pairingId && (r.state === 'revoked' || r.state === 'refused')) {
          endedBy = typeof r.endedBy === 'string' ? r.endedBy : undefined;
          resolve('unpaired');
        }
      }),
    );
    const atr = await this.powerOn(relay);
    const card: VpcdCard = {
      atr,
      // A power cycle or reset of the reader: the phone's card session starts over too.
      reset: () => {
        relay.send({ type: 'power-off' });
        return atr;
      },
      transmit: (apdu) => relay.transmit(apdu),
    };
    const bridge = new VpcdCardBridge(card, {
      host: this.o.vpcd.host,
      port: this.o.vpcd.port,
      reconnect: true,
      onState: (s, detail) => {
        if (s === 'inserted')
          this.o.log(`Your phone is the card in the virtual reader (vpcd ${detail ?? ''})`);
        if (s === 'waiting') this.o.log(`Waiting for pcscd's virtual reader (${detail ?? ''})…`);
      },
    });
    this.bridge = bridge;
    // Waiting for pcscd must not outlive the connection (close() withdraws the card, ending the wait).
    void bridge.start().catch(() => undefined);
    if (again) this.o.log('Reconnected: the pairing with your phone is resumed');
    this.backoff.reset();
    const outcome = await Promise.race([
      ended,
      relay.closed.then((c) => {
        // Revoked while connected: the server closed the relay with 4001.
        if (c.refused) throw c.refused;
        return 'lost' as const;
      }),
    ]);
    if (outcome === 'unpaired') {
      await this.close();
      this.o.savePairing(null);
      this.o.log(
        `The pairing with your phone has ended${endedBy && ENDED_BY.has(endedBy) ? ` (${ENDED_BY.get(endedBy)})` : ''}: the card is removed`,
      );
    }
    return outcome;
  }

  /** Ends the saved pairing from this side (`--unpair-wallet`). */
  async unpair(): Promise<boolean> {
    if (!this.o.pairingId) return false;
    const relay = await RelaySocket.open(this.o.server, this.o.token, this.heartbeatMs, this.o.log);
    this.relay = relay;
    relay.send({ type: 'resume', pairingId: this.o.pairingId });
    const r = await relay.next((x) => x.type === 'pairing');
    if (r.type === 'pairing') {
      relay.send({ type: 'unpair' });
      await relay.next((x) => x.type === 'pairing' && x.state === 'revoked');
    }
    this.o.savePairing(null);
    await this.close();
    return true;
  }

  async close(): Promise<void> {
    const bridge = this.bridge;
    const relay = this.relay;
    this.bridge = undefined;
    this.relay = undefined;
    await bridge?.stop();
    relay?.close();
  }

  /** The pairing this run had, after a reconnect: never asks the phone again. */
  private async resume(relay: RelaySocket, pairingId: string): Promise<string> {
    relay.send({ type: 'resume', pairingId });
    const r = await relay.next((x) => x.type === 'pairing');
    if (r.type === 'pairing' && r.state === 'active') return pairingId;
    if (pairingOver(r))
      throw new Final(
        'unpaired',
        `the pairing with your phone ended while the server was out of reach (${String(r.message)})`,
      );
    throw new Error(`The server could not resume the pairing: ${String(r.message ?? r.state)}`);
  }

  private async pair(relay: RelaySocket): Promise<string> {
    if (this.o.pairingId) {
      relay.send({ type: 'resume', pairingId: this.o.pairingId });
      const r = await relay.next((x) => x.type === 'pairing');
      if (r.type === 'pairing' && r.state === 'active') {
        this.o.log(`Paired with ${String(r.wallet)}`);
        return String(r.id);
      }
      if (!pairingOver(r)) throw new Error(`The server could not resume the pairing: ${String(r.message)}`);
      this.o.log(`The earlier pairing is over (${String(r.message ?? r.state)}): asking the phone again`);
      this.o.savePairing(null);
      this.o.pairingId = null;
    }
    relay.send({ type: 'pair' });
    const asked = await relay.next((x) => x.type === 'pairing');
    if (asked.type !== 'pairing')
      // The server's own trouble may pass; anything else (no phone to pair with, …) will not.
      throw asked.code === 'internal'
        ? new Error(String(asked.message))
        : new Final('refused', String(asked.message ?? 'The server refused to pair'));
    const code = String(asked.code);
    this.o.log(
      `On your phone (${String(asked.wallet)}), allow this computer to use it as your smart card. ` +
        `Check that the phone shows the code ${code.slice(0, 3)} ${code.slice(3)}.`,
    );
    const decided = await relay.next(
      (x) => x.type === 'pairing' && x.id === asked.id && x.state !== 'pending',
    );
    if (decided.type !== 'pairing' || decided.state !== 'active')
      throw new Final(
        'refused',
        decided.type === 'pairing' ? 'the phone refused to pair with this computer' : String(decided.message),
      );
    this.o.savePairing(String(asked.id));
    this.o.log('Paired: the phone allowed it');
    return String(asked.id);
  }

  /** The phone's card, powered: fails (to be retried) while the phone is not connected. */
  private async powerOn(relay: RelaySocket): Promise<Uint8Array> {
    relay.send({ type: 'power-on' });
    const r = await relay.next((x) => x.type === 'atr');
    if (r.type !== 'atr')
      throw new PhoneAway(`Your phone cannot be reached (is its wallet open?): ${String(r.message)}`);
    return fromHex(String(r.atr));
  }
}

/** "45 s", "1.5 s": a period as the person reads it. */
const formatSeconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;
