// The workstation's side of a phone used as its smart card (docs/mobile.md "Use at a workstation"):
// one relay session per `tessera agent --wallet` connection. The agent asks to pair (or resumes a
// pairing the phone allowed before), then powers the card and sends the APDUs of the workstation's
// PC/SC applications (through vpcd); each is relayed to the phone's wallet over its own link, as a
// card connection marked "used by <workstation>", so the wallet asks the person before each
// signature. The session answers in order, one frame at a time; when the pairing ends (from either
// side) the card connection is closed and the agent told, and it removes the card.
import { fromHex, toHex } from '../../cards/bytes.js';
import { CLOSE, DEFAULT_HEARTBEAT_MS } from '../../cards/transport/agent-protocol.js';
import type { CardConnection } from '../../cards/transport/types.js';
import { DomainError, ValidationError } from '../../domain/errors.js';
import type { AgentRecord } from '../../store/agents-repo.js';
import type { CardAccess } from '../card-access.js';
import type { WalletPairing, WalletPairingService } from './wallet-pairing.js';

/** A signature may wait for the person to confirm it on the phone. */
const WORKSTATION_APDU_TIMEOUT_MS = 90_000;

export type RelayFrame =
  | { type: 'pair' }
  | { type: 'resume'; pairingId: string }
  | { type: 'unpair' }
  | { type: 'power-on' }
  | { type: 'power-off' }
  | { type: 'apdu'; id: string; apdu: string };

export type RelayReply = { type: string } & Record<string, unknown>;

/** Closes the session's socket with a WebSocket close code (the agent reads 4001 as "revoked"). */
export type CloseSocket = (code: number, reason: string) => void;

export class WorkstationRelay {
  /** The sessions on this server, by workstation agent: a revocation closes them. */
  private readonly live = new Map<string, Map<WorkstationSession, CloseSocket>>();
  /**
   * How often the relay's socket is pinged (the agent sockets' heartbeat): a workstation silent
   * for three periods is cut off and its session ends (socket-keepalive.ts).
   */
  readonly heartbeatMs: number;

  constructor(
    private readonly deps: {
      pairing: Pick<WalletPairingService, 'request' | 'active' | 'end' | 'onChange'>;
      cards: Pick<CardAccess, 'connect'>;
      heartbeatMs?: number;
    },
  ) {
    this.heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** How many relay sessions of `agentId` this server holds. */
  sessionsOf(agentId: string): number {
    return this.live.get(agentId)?.size ?? 0;
  }

  /**
   * A session for one connection of `workstation`; `send` writes to its socket, `closeSocket`
   * closes it. The session leaves this relay's list when closed.
   */
  open(
    workstation: AgentRecord,
    send: (r: RelayReply) => void,
    closeSocket?: CloseSocket,
  ): WorkstationSession {
    const session = new WorkstationSession(workstation, send, this.deps, () => {
      const mine = this.live.get(workstation.id);
      mine?.delete(session);
      if (mine?.size === 0) this.live.delete(workstation.id);
    });
    if (closeSocket) {
      const mine = this.live.get(workstation.id) ?? new Map<WorkstationSession, CloseSocket>();
      mine.set(session, closeSocket);
      this.live.set(workstation.id, mine);
    }
    return session;
  }

  /**
   * The workstation agent was revoked (on this server or another, said on the bus): its relay
   * sockets here close with 4001, so `tessera agent --wallet` stops for good instead of relaying
   * APDUs that can only fail.
   */
  revoked(agentId: string): void {
    for (const [session, closeSocket] of this.live.get(agentId) ?? []) {
      void session.close();
      closeSocket(CLOSE.REVOKED, 'agent revoked');
    }
    this.live.delete(agentId);
  }

  /** A revocation said while this server could not hear the bus: each agent here checked again. */
  async recheck(isRevoked: (agentId: string) => Promise<boolean>): Promise<void> {
    for (const agentId of [...this.live.keys()]) if (await isRevoked(agentId)) this.revoked(agentId);
  }
}

export class WorkstationSession {
  private pairingId: string | null = null;
  private stopFollowing: (() => void) | null = null;
  private conn: CardConnection | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly workstation: AgentRecord,
    private readonly send: (r: RelayReply) => void,
    private readonly deps: WorkstationRelay['deps'],
    private readonly onClosed: () => void = () => undefined,
  ) {}

  /** Handles frames strictly in order (pcscd waits for each answer before the next command). */
  onFrame(frame: RelayFrame): void {
    this.queue = this.queue.then(() => this.#handle(frame)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.onClosed();
    this.stopFollowing?.();
    await this.#powerOff();
  }

  async #handle(f: RelayFrame): Promise<void> {
    try {
      switch (f.type) {
        case 'pair': {
          const { pairing, walletName } = await this.deps.pairing.request(this.workstation);
          this.#follow(pairing.id);
          this.send({
            type: 'pairing',
            id: pairing.id,
            state: 'pending',
            code: pairing.code,
            wallet: walletName,
          });
          return;
        }
        case 'resume': {
          const { pairing, wallet } = await this.deps.pairing.active(this.workstation, f.pairingId);
          this.#follow(pairing.id);
          this.send({ type: 'pairing', id: pairing.id, state: 'active', wallet: wallet.name });
          return;
        }
        case 'unpair': {
          if (!this.pairingId) throw new ValidationError('No pairing to end on this connection');
          await this.#powerOff();
          await this.deps.pairing.end('workstation', this.workstation, this.pairingId);
          return;
        }
        case 'power-on': {
          await this.#powerOff();
          const conn = await this.#connect();
          this.send({ type: 'atr', atr: toHex(conn.atr ?? new Uint8Array()) });
          return;
        }
        case 'power-off':
          await this.#powerOff();
          return;
        case 'apdu': {
          try {
            // Checked at every command: the phone or the workstation may have ended the pairing, or
            // an agent been revoked, since the last one.
            if (this.conn && this.pairingId) await this.deps.pairing.active(this.workstation, this.pairingId);
            const conn = this.conn ?? (await this.#connect());
            const response = await conn.transmit(fromHex(f.apdu), { timeoutMs: WORKSTATION_APDU_TIMEOUT_MS });
            this.send({ type: 'apdu-result', id: f.id, response: toHex(response) });
          } catch (e) {
            // The phone went away or the pairing ended: the next command starts a new connection.
            await this.#powerOff();
            this.send({ type: 'apdu-error', id: f.id, message: messageOf(e) });
          }
          return;
        }
      }
    } catch (e) {
      this.send({
        type: 'error',
        code: e instanceof DomainError ? e.code : 'internal',
        message: messageOf(e),
      });
    }
  }

  /** A card connection to the paired wallet, checked active now (the pairing may have ended). */
  async #connect(): Promise<CardConnection> {
    if (!this.pairingId) throw new ValidationError('Pair with your phone first');
    const { wallet } = await this.deps.pairing.active(this.workstation, this.pairingId);
    this.conn = await this.deps.cards.connect(wallet.ownerUserId, wallet.id, wallet.name, {
      use: { kind: 'workstation', by: this.workstation.name },
    });
    return this.conn;
  }

  async #powerOff(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    await c?.close?.().catch(() => undefined);
  }

  #follow(pairingId: string): void {
    this.stopFollowing?.();
    this.pairingId = pairingId;
    this.stopFollowing = this.deps.pairing.onChange(pairingId, (p: WalletPairing) => {
      if (p.state !== 'active') void this.#powerOff();
      this.send({ type: 'pairing', id: p.id, state: p.state, ...(p.endedBy ? { endedBy: p.endedBy } : {}) });
    });
  }
}

const messageOf = (e: unknown): string =>
  e instanceof DomainError ? e.message : e instanceof Error ? e.message.slice(0, 200) : 'failed';
