// `tessera agent --wallet`: the person's phone as this workstation's smart card (docs/mobile.md "Use
// at a workstation"). The agent pairs with the phone through the server — it shows a six-digit code,
// the phone shows the same and the person allows it there — then puts a card into the vsmartcard
// virtual reader of pcscd (as `tessera card emulate` does for the emulator) whose every APDU is
// relayed to the phone's wallet over the server. The wallet asks the person before each use of a
// private key. The pairing is kept (next to the agent identity) for the next run, and ends when the
// phone unpairs, when `--unpair-wallet` is run, or when either agent is revoked.
import { WebSocket } from 'ws';
import { fromHex, toHex } from '../cards/bytes.js';
import { VpcdCardBridge, type VpcdCard } from '../cards/transport/vpcd.js';

type Reply = { type: string } & Record<string, unknown>;

export interface WalletBridgeOptions {
  server: string;
  token: string;
  /** The pairing the phone allowed before, if any. */
  pairingId: string | null;
  savePairing: (id: string | null) => void;
  vpcd: { host: string; port: number };
  log: (line: string) => void;
}

/** The relay socket: frames out, replies in order, APDU answers by id. */
class RelaySocket {
  private waiters: Array<{ accept: (r: Reply) => boolean; resolve: (r: Reply) => void }> = [];
  private apdus = new Map<string, (r: Reply) => void>();
  private nextId = 1;
  private listeners = new Set<(r: Reply) => void>();
  readonly closed: Promise<void>;

  constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data) => {
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

  static open(server: string, token: string): Promise<RelaySocket> {
    const url = `${server.replace(/\/$/, '').replace(/^http/, 'ws')}/api/wallet/relay`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RelaySocket(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`The server refused the relay (HTTP ${res.statusCode}): pair this agent again`)),
      );
      ws.once('error', reject);
    });
  }

  send(body: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ v: 1, ...body }));
  }

  /** The next reply `accept` takes (an error frame is taken by every wait). */
  next(accept: (r: Reply) => boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.closed.then(() => reject(new Error('The connection to the server was lost')), reject);
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
    this.ws.close(1000, 'agent stopped');
  }
}

const failed = (r: Reply): Error => new Error(String(r.message ?? 'The server refused'));

export class WalletBridge {
  private relay: RelaySocket | undefined;
  private bridge: VpcdCardBridge | undefined;

  constructor(private readonly o: WalletBridgeOptions) {}

  /** Pairs (or resumes the pairing) and makes the phone the card in vpcd's reader until `stop`. */
  async run(stop: Promise<void>): Promise<'stopped' | 'unpaired' | 'lost'> {
    const relay = await RelaySocket.open(this.o.server, this.o.token);
    this.relay = relay;
    const pairingId = await this.pair(relay);
    const ended = new Promise<'unpaired'>((resolve) =>
      relay.on((r) => {
        if (r.type === 'pairing' && r.id === pairingId && (r.state === 'revoked' || r.state === 'refused'))
          resolve('unpaired');
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
    this.bridge = new VpcdCardBridge(card, {
      host: this.o.vpcd.host,
      port: this.o.vpcd.port,
      reconnect: true,
      onState: (s, detail) => {
        if (s === 'inserted')
          this.o.log(`Your phone is the card in the virtual reader (vpcd ${detail ?? ''})`);
        if (s === 'waiting') this.o.log(`Waiting for pcscd's virtual reader (${detail ?? ''})…`);
      },
    });
    await this.bridge.start();
    const outcome = await Promise.race([
      stop.then(() => 'stopped' as const),
      ended,
      relay.closed.then(() => 'lost' as const),
    ]);
    if (outcome === 'unpaired') {
      this.o.savePairing(null);
      this.o.log('The pairing with your phone has ended: the card is removed');
    }
    if (outcome === 'lost') this.o.log('The connection to the server was lost: the card is removed');
    await this.close();
    return outcome;
  }

  /** Ends the saved pairing from this side (`--unpair-wallet`). */
  async unpair(): Promise<boolean> {
    if (!this.o.pairingId) return false;
    const relay = await RelaySocket.open(this.o.server, this.o.token);
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
    await this.bridge?.stop();
    this.relay?.close();
  }

  private async pair(relay: RelaySocket): Promise<string> {
    if (this.o.pairingId) {
      relay.send({ type: 'resume', pairingId: this.o.pairingId });
      const r = await relay.next((x) => x.type === 'pairing');
      if (r.type === 'pairing' && r.state === 'active') {
        this.o.log(`Paired with ${String(r.wallet)}`);
        return String(r.id);
      }
      this.o.log(`The earlier pairing is over (${String(r.message ?? r.state)}): asking the phone again`);
      this.o.savePairing(null);
    }
    relay.send({ type: 'pair' });
    const asked = await relay.next((x) => x.type === 'pairing');
    if (asked.type !== 'pairing') throw failed(asked);
    const code = String(asked.code);
    this.o.log(
      `On your phone (${String(asked.wallet)}), allow this computer to use it as your smart card. ` +
        `Check that the phone shows the code ${code.slice(0, 3)} ${code.slice(3)}.`,
    );
    const decided = await relay.next(
      (x) => x.type === 'pairing' && x.id === asked.id && x.state !== 'pending',
    );
    if (decided.type !== 'pairing' || decided.state !== 'active')
      throw new Error(
        decided.type === 'pairing' ? 'The phone refused to pair with this computer' : String(decided.message),
      );
    this.o.savePairing(String(asked.id));
    this.o.log('Paired: the phone allowed it');
    return String(asked.id);
  }

  private async powerOn(relay: RelaySocket): Promise<Uint8Array> {
    relay.send({ type: 'power-on' });
    const r = await relay.next((x) => x.type === 'atr');
    if (r.type !== 'atr') throw failed(r);
    return fromHex(String(r.atr));
  }
}
