// Word between the servers sharing a database: "job X changed", "agent Y's readers changed", "the
// CA list changed", "a job waits for you". One interface, two implementations: in memory (PGlite is
// one process: `tessera start`, most tests) and PostgreSQL LISTEN/NOTIFY (`tessera serve` on
// PostgreSQL, any number of servers). Payloads are small — ids, not documents: whoever hears reads
// the database, which stays the one truth. Said after the change commits; what a server misses
// (its LISTEN connection dropped) is made up by `resync` listeners re-reading.
import { EventEmitter } from 'node:events';
import type { Notifications } from '../../store/db.js';

/** What is said on the bus; each topic's payload is a short string (an id, a name). */
export type Topic =
  /** An issuance job changed (progress, end): payload its id. */
  | 'job'
  /** A job was queued for the server holding its card's agent: payload that server's instance id. */
  | 'job-queued'
  /** A reader or card of an agent changed: payload JSON { agentId, type, reader, atr? }. */
  | 'reader'
  /** Something servers keep in memory changed: payload the cache's name ('ca', 'settings', …). */
  | 'cache'
  /** A certificate's status changed (OCSP answers kept): payload JSON StatusChange. */
  | 'status'
  /** Card traffic relayed to the server holding an agent (services/cluster/card-relay.ts). */
  | 'card'
  /** A phone's pairing with a workstation changed: payload "pairingId walletAgentId". */
  | 'pairing'
  /** An agent (or phone) was revoked: payload its id; whoever holds its sockets closes them. */
  | 'agent-revoked';

export type BusListener = (payload: string, fromHere: boolean) => void;

/**
 * A message a statement that commits on its own carries (PostgreSQL delivers a NOTIFY made in a
 * statement at its commit, and never after a rollback): the NOTIFY for the other servers, null when
 * there are none to tell (one process), and this server's delivery, to call once it committed.
 */
export interface Carried {
  notify: { channel: string; payload: string } | null;
  here(): void;
}

export interface Bus {
  /** Tells every listener, on this server at once and on the others through the database. */
  publish(topic: Topic, payload: string): void;
  /**
   * The message as a statement may carry it instead of publish (an issuance's end: one statement
   * writes it and says it). Absent: publish once the change committed.
   */
  carry?(topic: Topic, payload: string): Carried;
  /** Calls `listener` for each message on `topic`; returns the function that stops it. */
  subscribe(topic: Topic, listener: BusListener): () => void;
  /**
   * Called when messages may have been missed (the LISTEN connection came back): re-read what
   * is kept. Returns the function that stops it.
   */
  onResync(listener: () => void): () => void;
  close(): Promise<void>;
}

const RESYNC = Symbol('resync');

/** The bus of one process: listeners are called before publish returns. */
export class LocalBus implements Bus {
  protected readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  publish(topic: Topic, payload: string): void {
    this.deliver(topic, payload, true);
  }

  protected deliver(topic: Topic, payload: string, fromHere: boolean): void {
    for (const l of this.events.listeners(topic) as BusListener[]) {
      try {
        l(payload, fromHere);
      } catch {
        // One listener's failure is its own: the others still hear.
      }
    }
  }

  subscribe(topic: Topic, listener: BusListener): () => void {
    this.events.on(topic, listener);
    return () => this.events.off(topic, listener);
  }

  onResync(listener: () => void): () => void {
    this.events.on(RESYNC, listener);
    return () => this.events.off(RESYNC, listener);
  }

  protected resync(): void {
    this.events.emit(RESYNC);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

/** PostgreSQL's NOTIFY payload limit (8000 bytes), with room for the envelope. */
const MAX_PAYLOAD = 7800;
/** Most NOTIFYs sent in one statement (each up to 8000 bytes: a statement stays under 2 MB). */
const MAX_BATCH = 250;
/** Topics whose message, said twice, means no more than said once: the listeners re-read. */
const IDEMPOTENT: ReadonlySet<Topic> = new Set(['job', 'job-queued', 'cache', 'agent-revoked']);
/**
 * A longer message (a card's answer, a print job's document relayed between servers) goes in parts;
 * at most this long: a sealed print document of 1 MiB (agent-protocol.ts) is about 1.9 MB.
 */
const MAX_MESSAGE = 2 * 1024 * 1024;

/**
 * Every server LISTENs on its schema's channel. A message is `topic origin payload`; this server's
 * own messages are delivered at once (no round trip) and skipped when they come back. A payload
 * over NOTIFY's limit is sent as parts (`topic* origin id index count part`), put together by the
 * listeners whatever order the parts arrive in (they may take different pool connections).
 */
export class PgBus extends LocalBus {
  #stop: (() => Promise<void>) | null = null;
  #closed = false;
  #partial = new Map<string, { parts: string[]; got: number; timer: NodeJS.Timeout }>();
  #sent = 0;
  /** NOTIFYs waiting for the one in flight, in batches sent as one statement each. */
  readonly #outbox: Set<string>[] = [];
  #sending = false;

  private constructor(
    private readonly notifications: Notifications,
    private readonly origin: string,
    private readonly onError: (err: unknown) => void,
  ) {
    super();
  }

  static async open(
    notifications: Notifications,
    origin: string,
    onError: (err: unknown) => void = () => undefined,
  ): Promise<PgBus> {
    const bus = new PgBus(notifications, origin, onError);
    bus.#stop = await notifications.listen(
      (raw) => bus.#heard(raw),
      () => bus.resync(),
    );
    return bus;
  }

  #heard(raw: string): void {
    const a = raw.indexOf(' ');
    const b = raw.indexOf(' ', a + 1);
    if (a < 0 || b < 0) return;
    const origin = raw.slice(a + 1, b);
    if (origin === this.origin) return;
    const topic = raw.slice(0, a);
    if (!topic.endsWith('*')) return this.deliver(topic as Topic, raw.slice(b + 1), false);
    const [id, index, count] = raw.slice(b + 1).split(' ', 3) as [string, string, string];
    const part = raw.slice(b + 1 + id.length + index.length + count.length + 3);
    const key = `${origin} ${id}`;
    let p = this.#partial.get(key);
    if (!p) {
      // Parts of a sender that died half-way are dropped after a while.
      const timer = setTimeout(() => this.#partial.delete(key), 60_000);
      timer.unref();
      p = { parts: new Array<string>(Number(count)), got: 0, timer };
      this.#partial.set(key, p);
    }
    const i = Number(index);
    if (!(i >= 0 && i < p.parts.length) || p.parts[i] !== undefined) return;
    p.parts[i] = part;
    if (++p.got < p.parts.length) return;
    clearTimeout(p.timer);
    this.#partial.delete(key);
    this.deliver(topic.slice(0, -1) as Topic, p.parts.join(''), false);
  }

  /**
   * A short message goes in the caller's statement (pg_notify on its channel, in this bus's
   * envelope): the other servers hear it at that statement's commit, and `here` tells this server's
   * listeners once it has committed, as publish would. A long one (parts) or a closed bus's is
   * published after the commit instead.
   */
  carry(topic: Topic, payload: string): Carried {
    if (this.#closed || payload.length > MAX_PAYLOAD)
      return { notify: null, here: () => this.publish(topic, payload) };
    return {
      notify: { channel: this.notifications.channel, payload: `${topic} ${this.origin} ${payload}` },
      here: () => this.deliver(topic, payload, true),
    };
  }

  override publish(topic: Topic, payload: string): void {
    if (payload.length > MAX_MESSAGE) throw new Error(`bus payload too long (${payload.length}) on ${topic}`);
    this.deliver(topic, payload, true);
    if (this.#closed) return;
    if (payload.length <= MAX_PAYLOAD)
      return this.#send(`${topic} ${this.origin} ${payload}`, IDEMPOTENT.has(topic));
    const id = String(++this.#sent);
    const count = Math.ceil(payload.length / MAX_PAYLOAD);
    for (let i = 0; i < count; i++)
      this.#send(
        `${topic}* ${this.origin} ${id} ${i} ${count} ${payload.slice(i * MAX_PAYLOAD, (i + 1) * MAX_PAYLOAD)}`,
        false,
      );
  }

  /**
   * Queues a NOTIFY. One statement is in flight at a time; what is said meanwhile goes out with the
   * next, in order — under load (100 issuances at once) many words share one round trip instead of
   * one statement each. A message repeated within a batch would be delivered once by PostgreSQL:
   * a repeated idempotent one ("job X changed") is dropped, any other starts a new batch.
   */
  #send(message: string, idempotent: boolean): void {
    const last = this.#outbox[this.#outbox.length - 1];
    if (!last || last.size >= MAX_BATCH) this.#outbox.push(new Set([message]));
    else if (!last.has(message)) last.add(message);
    else if (!idempotent) this.#outbox.push(new Set([message]));
    if (!this.#sending) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    try {
      for (let batch = this.#outbox.shift(); batch; batch = this.#outbox.shift())
        await this.notifications.notify([...batch]).catch(this.onError);
    } finally {
      this.#sending = false;
    }
  }

  override async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#partial.values()) clearTimeout(p.timer);
    this.#partial.clear();
    await this.#stop?.();
    await super.close();
  }
}
