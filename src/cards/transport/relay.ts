// A CardConnection over a message channel: the server side of the agent this. The server sends
// connect/apdu/disconnect requests to a workstation agent and awaits its replies; every request is
// in a pending map with its own deadline, so nothing waits forever: a reply that never comes is a
// CardTimeoutError, a dropped channel fails everything in flight with TransportError('agent
// disconnected'), and a card the agent reports removed fails that reader's exchanges with
// CardRemovedError (and makes the connection stale, as a real reader would).
//
// Only the relay sub-protocol is defined here; agent-protocol.ts beside it wraps it in the agent's
// versioned envelope. Both ends import that one file: the agent (which depends on cards) and the
// server's agent hub (a service, which may not import agent/).
import { CardProtocolError, CardRemovedError, CardTimeoutError, TransportError } from '../errors.js';
import { withDeadline } from './deadline.js';
import type { CardConnection, TransmitOptions } from './types.js';
import { DEFAULT_TRANSMIT_TIMEOUT_MS } from './types.js';

/** Server → agent. `session` names one opened connection on the agent (several may share a reader). */
export type RelayRequest =
  | { type: 'connect'; id: string; reader: string }
  | { type: 'apdu'; id: string; session: string; reader: string; apdu: string; timeoutMs: number }
  | {
      type: 'apdus';
      id: string;
      session: string;
      reader: string;
      apdus: string[];
      timeoutMs: number;
      chain?: true;
    }
  | { type: 'disconnect'; session: string; reader: string };

/** Agent → server. Errors carry the card layer's stable codes (card_removed, card_timeout…). */
export type RelayReply =
  | { type: 'connect-result'; id: string; session: string; atr: string }
  | { type: 'connect-error'; id: string; code: string; message: string }
  | { type: 'apdu-result'; id: string; response: string }
  | { type: 'apdus-result'; id: string; responses: string[] }
  | { type: 'apdu-error'; id: string; code: string; message: string };

export const RELAY_CONNECT_TIMEOUT_MS = 15_000;

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

interface Pending {
  reader: string;
  resolve: (reply: RelayReply) => void;
  reject: (e: Error) => void;
}

/** Turns an error the agent reported into the card layer's typed error. */
export function relayError(code: string, message: string, reader: string): Error {
  if (code === 'card_removed') return new CardRemovedError(reader);
  if (code === 'card_timeout') {
    const ms = Number(/(\d+) ms/.exec(message)?.[1] ?? DEFAULT_TRANSMIT_TIMEOUT_MS);
    return new CardTimeoutError(ms);
  }
  // The card broke ISO 7816's chaining where the agent followed it (apdu-chain), as it would here.
  if (code === 'card_protocol') return new CardProtocolError(message, { reader });
  return new TransportError(`The agent reports: ${message}`, { reader, agentCode: code });
}

export interface CardRelayOptions {
  /** Who is at the other end, for error messages (e.g. the agent's name). */
  peer?: string;
  connectTimeoutMs?: number;
  /** Fresh ids for requests (tests may make them predictable). */
  newId?: () => string;
  /** The agent runs several commands per request ("apdus"): connections offer transmitBatch. */
  batch?: boolean;
  /**
   * With batch: the agent follows 61xx and 6Cxx itself (apdu-chain), so every command goes as an
   * "apdus" frame with chain: true — a single one too — and comes back whole.
   */
  chain?: boolean;
}

/**
 * One agent's relay: opens CardConnections to its readers and routes the agent's replies to them.
 * The owner feeds `deliver()` with every reply, `cardRemoved()` with removal events and `close()`
 * when the channel ends.
 */
export class CardRelay {
  private readonly pending = new Map<string, Pending>();
  /** Per reader, bumped when the card leaves: connections opened before are stale. */
  private readonly generation = new Map<string, number>();
  private closedReason: string | undefined;
  private seq = 0;

  constructor(
    private readonly send: (request: RelayRequest) => void,
    private readonly opts: CardRelayOptions = {},
  ) {}

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private nextId(): string {
    return this.opts.newId?.() ?? `r${++this.seq}`;
  }

  private request(
    reader: string,
    build: (id: string) => RelayRequest,
    opts: TransmitOptions,
  ): Promise<RelayReply> {
    if (this.closedReason) return Promise.reject(this.disconnected(reader));
    const id = this.nextId();
    const work = new Promise<RelayReply>((resolve, reject) => {
      this.pending.set(id, { reader, resolve, reject });
    });
    try {
      this.send(build(id));
    } catch (e) {
      this.pending.delete(id);
      return Promise.reject(
        new TransportError(`Could not reach the agent: ${(e as Error).message}`, { reader }, { cause: e }),
      );
    }
    return withDeadline(work, opts, () => this.pending.delete(id)).finally(() => this.pending.delete(id));
  }

  private disconnected(reader?: string): TransportError {
    return new TransportError(
      `agent disconnected${this.opts.peer ? ` (${this.opts.peer})` : ''}`,
      reader ? { reader } : undefined,
    );
  }

  /** Opens a connection to the card in `reader` on the agent. */
  async connect(reader: string, opts: TransmitOptions = {}): Promise<CardConnection> {
    // Taken before asking: a card pulled while the agent opens the reader makes this connection stale.
    const generation = this.generation.get(reader) ?? 0;
    const use = opts.use ? { use: opts.use.kind, by: opts.use.by.slice(0, 128) } : {};
    const reply = await this.request(reader, (id) => ({ type: 'connect', id, reader, ...use }), {
      timeoutMs: opts.timeoutMs ?? this.opts.connectTimeoutMs ?? RELAY_CONNECT_TIMEOUT_MS,
      signal: opts.signal,
    });
    if (reply.type === 'connect-error') throw relayError(reply.code, reply.message, reader);
    if (reply.type !== 'connect-result')
      throw new TransportError(`The agent answered a connect with "${reply.type}"`, { reader });
    const session = reply.session;
    let closed = false;
    const transmitBatch = async (
      apdus: readonly Uint8Array[],
      o: TransmitOptions = {},
    ): Promise<Uint8Array[]> => {
      if (closed) throw new TransportError('The connection is closed', { reader });
      if ((this.generation.get(reader) ?? 0) !== generation) throw new CardRemovedError(reader);
      const timeoutMs = o.timeoutMs ?? DEFAULT_TRANSMIT_TIMEOUT_MS;
      const chain = this.opts.chain ? { chain: true as const } : {};
      const r = await this.request(
        reader,
        (id) => ({ type: 'apdus', id, session, reader, apdus: apdus.map(toHex), timeoutMs, ...chain }),
        // The agent bounds each command by timeoutMs; the whole script by their sum here.
        { timeoutMs: timeoutMs * apdus.length + 2_000, signal: o.signal },
      );
      if (r.type === 'apdu-error') throw relayError(r.code, r.message, reader);
      if (r.type !== 'apdus-result' || r.responses.length === 0 || r.responses.length > apdus.length)
        throw new TransportError(`The agent answered a batch of APDUs with "${r.type}"`, { reader });
      return r.responses.map(fromHex);
    };
    return {
      reader,
      atr: fromHex(reply.atr),
      transmit: async (apdu: Uint8Array, o: TransmitOptions = {}): Promise<Uint8Array> => {
        // One command, followed to its whole answer by the agent.
        if (this.opts.batch && this.opts.chain) return (await transmitBatch([apdu], o))[0]!;
        if (closed) throw new TransportError('The connection is closed', { reader });
        if ((this.generation.get(reader) ?? 0) !== generation) throw new CardRemovedError(reader);
        const timeoutMs = o.timeoutMs ?? DEFAULT_TRANSMIT_TIMEOUT_MS;
        const r = await this.request(
          reader,
          (id) => ({ type: 'apdu', id, session, reader, apdu: toHex(apdu), timeoutMs }),
          // The agent enforces timeoutMs at the card; we allow a little more for the network, so
          // the agent's precise answer usually wins and a silent agent still cannot hang us.
          { timeoutMs: timeoutMs + 2_000, signal: o.signal },
        );
        if (r.type === 'apdu-error') throw relayError(r.code, r.message, reader);
        if (r.type !== 'apdu-result')
          throw new TransportError(`The agent answered an APDU with "${r.type}"`, { reader });
        return fromHex(r.response);
      },
      ...(this.opts.batch ? { transmitBatch } : {}),
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        if (this.closedReason) return;
        try {
          this.send({ type: 'disconnect', session, reader });
        } catch {
          // The channel is going away; the agent drops its sessions when it does.
        }
      },
    };
  }

  /** Routes one reply from the agent; false when nothing waits for it (late or unknown). */
  deliver(reply: RelayReply): boolean {
    const p = this.pending.get(reply.id);
    if (!p) return false;
    this.pending.delete(reply.id);
    p.resolve(reply);
    return true;
  }

  /** The agent reports the card in `reader` left: fail its exchanges, make its connections stale. */
  cardRemoved(reader: string): void {
    this.generation.set(reader, (this.generation.get(reader) ?? 0) + 1);
    for (const [id, p] of this.pending) {
      if (p.reader !== reader) continue;
      this.pending.delete(id);
      p.reject(new CardRemovedError(reader));
    }
  }

  /** The channel ended: everything in flight, and everything later, fails with 'agent disconnected'. */
  close(reason = 'agent disconnected'): void {
    this.closedReason ??= reason;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(this.disconnected(p.reader));
    }
  }
}
