// The server's end of the agents: live WebSockets of paired workstation agents, the readers each
// reports, and card connections relayed through them (CardAccess). Sockets are inherently held in
// this process's memory; who an agent is and whom it belongs to lives in the database, which the
// hub checks at every heartbeat (one statement for all its agents) so a revocation made by another
// server process also takes effect.
import { NotFoundError } from '../domain/errors.js';
import { CardRemovedError, TransportError } from '../cards/errors.js';
import { CardRelay } from '../cards/transport/relay.js';
import type { CardConnection, ReaderEvent, TransmitOptions } from '../cards/transport/types.js';
import {
  CLOSE,
  DEFAULT_HEARTBEAT_MS,
  frame,
  HEARTBEAT_MISSES,
  parseAgentMessage,
  ProtocolError,
  type AgentFeature,
  type AgentMessage,
  type PrinterInfo,
  type ServerBody,
  type WelcomedFeature,
  WELCOMED_FEATURES,
} from '../cards/transport/agent-protocol.js';
import { randomUUID } from 'node:crypto';
import { touchAgent, touchLiveAgents, type AgentRecord } from '../store/agents-repo.js';
import type { CardAccess, ConnectedReader } from './card-access.js';
import type { ServiceContext } from './context.js';

export type { CardAccess, ConnectedReader } from './card-access.js';
/** For the agent socket's route: what an agent announces it can do. */
export { agentFeatures, FEATURES_HEADER } from '../cards/transport/agent-protocol.js';

/** The slice of a WebSocket (the `ws` library's) the hub uses. */
export interface AgentSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const OPEN = 1;

/** A card printer of a connected agent, with its embedded encoder (one of the agent's readers). */
export interface ConnectedPrinter extends PrinterInfo {
  agentId: string;
  agentName: string;
}

export interface PrintOutcome {
  jobId: number;
  state: 'completed' | 'aborted' | 'canceled' | 'stopped';
  reasons: string[];
  message: string;
}

interface PendingPrint {
  resolve(o: PrintOutcome): void;
  reject(e: Error): void;
  onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void;
}

type OwnerEvent = { agentId: string } & ReaderEvent;

interface LiveReader {
  cardPresent: boolean;
  atr: string | null;
  /** The present card's serial as the agent read it (card-serial); null: not known. */
  serial: string | null;
}

interface LiveAgent {
  record: AgentRecord;
  socket: AgentSocket;
  relay: CardRelay;
  readers: Map<string, LiveReader>;
  printers: PrinterInfo[];
  prints: Map<string, PendingPrint>;
  welcomed: boolean;
  lastHeard: number;
  /**
   * When this server last sent the agent a frame other than a ping (its answer, a pong, counts in
   * lastHeard: with pings counted here too an idle agent's ping and pong would stand for traffic).
   */
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
  /** The announced features whose frames this server takes, listed in the welcome. */
  welcomedFeatures: WelcomedFeature[];
}

export interface AgentHubOptions {
  heartbeatMs?: number;
  /** Progress lines (connects, drops) for the server log. */
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

/** What another server is told of a live agent (services/cluster/cluster-cards.ts). */
export interface AgentSnapshot {
  readers: { name: string; cardPresent: boolean; atr: string | null; serial: string | null }[];
  printers: PrinterInfo[];
}

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/**
 * Whose sessions see and drive an agent's readers: its owner; for a phone's wallet linked by an
 * operator's issuance, that operator too (docs/mobile.md).
 */
export const visibleTo = (
  r: Pick<AgentRecord, 'ownerUserId' | 'ownerKind' | 'operatorUserId'>,
  userId: string,
): boolean => r.ownerUserId === userId || (r.ownerKind === 'wallet' && r.operatorUserId === userId);

/** How a print job is named, bounded and followed (PrinterAccess.print, AgentHub.print). */
export interface PrintJobOptions {
  jobName: string;
  user: string;
  timeoutMs: number;
  onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void;
}

export class AgentHub implements CardAccess {
  private readonly live = new Map<string, LiveAgent>();
  private readonly watchers = new Set<{ owner: string; listener: (e: OwnerEvent) => void }>();
  /** Who hears every change of every agent here (the cluster layer tells the other servers). */
  private readonly changeListeners = new Set<(agent: AgentRecord, e: ReaderEvent | null) => void>();
  private closed = false;
  readonly heartbeatMs: number;
  /** The presence sweep's timer (one per hub, running while agents are connected). */
  #presenceTimer: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: AgentHubOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  }

  // --- CardAccess ------------------------------------------------------------------------------

  async listReaders(ownerUserId: string): Promise<ConnectedReader[]> {
    const out: ConnectedReader[] = [];
    for (const a of this.live.values()) {
      if (!a.welcomed || !visibleTo(a.record, ownerUserId)) continue;
      for (const [reader, r] of a.readers)
        out.push({
          agentId: a.record.id,
          agentName: a.record.name,
          reader,
          cardPresent: r.cardPresent,
          atr: r.atr,
        });
    }
    // A fixed locale: the process's own (from LANG) would order the list differently per machine.
    return out.sort(
      (x, y) =>
        x.agentName.localeCompare(y.agentName, 'en') ||
        x.reader.localeCompare(y.reader, 'en') ||
        x.agentId.localeCompare(y.agentId, 'en'),
    );
  }

  async connect(
    ownerUserId: string,
    agentId: string,
    reader: string,
    opts?: TransmitOptions,
  ): Promise<CardConnection> {
    const a = this.live.get(agentId);
    // Another person's agent is reported exactly like an absent one: its existence is not ours to learn.
    if (!a || !visibleTo(a.record, ownerUserId)) throw new NotFoundError('connected agent', agentId);
    const r = a.readers.get(reader);
    if (!r)
      throw new TransportError(`The agent "${a.record.name}" has no reader named "${reader}"`, { reader });
    if (!r.cardPresent) throw new CardRemovedError(reader);
    return a.relay.connect(reader, opts);
  }

  /** The person's wallets connected to this server now (their phones), newest link first. */
  liveWallets(ownerUserId: string): AgentRecord[] {
    return [...this.live.values()]
      .filter((a) => a.welcomed && a.record.ownerKind === 'wallet' && a.record.ownerUserId === ownerUserId)
      .map((a) => a.record)
      .sort((x, y) => y.createdAt.localeCompare(x.createdAt) || x.id.localeCompare(y.id));
  }

  /** The ids of the wallets (phones) connected to this server. */
  connectedWallets(): string[] {
    return [...this.live.values()]
      .filter((a) => a.welcomed && a.record.ownerKind === 'wallet')
      .map((a) => a.record.id);
  }

  /** Sends a wallet one of its own frames ({v:1, type:'wallet-…'}); false when it is not connected here. */
  sendToWallet(agentId: string, body: { type: string } & Record<string, unknown>): boolean {
    const a = this.live.get(agentId);
    if (!a || a.record.ownerKind !== 'wallet' || a.socket.readyState !== OPEN) return false;
    a.socket.send(JSON.stringify({ v: 1, ...body }));
    return true;
  }

  watch(ownerUserId: string, listener: (e: OwnerEvent) => void): () => void {
    const w = { owner: ownerUserId, listener };
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /**
   * Calls `listener` after any change of an agent held here: its readers and cards (with the
   * event), its printers or its coming and going (event null). Returns unsubscribe.
   */
  onAgentChange(listener: (agent: AgentRecord, e: ReaderEvent | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** A live agent's readers and printers now; null when it is not connected here. */
  snapshot(agentId: string): AgentSnapshot | null {
    const a = this.live.get(agentId);
    if (!a?.welcomed) return null;
    return { readers: [...a.readers].map(([name, r]) => ({ name, ...r })), printers: a.printers };
  }

  /** The ids of the agents connected here. */
  connectedIds(): string[] {
    return [...this.live.values()].filter((a) => a.welcomed).map((a) => a.record.id);
  }

  private changed(a: LiveAgent, e: ReaderEvent | null): void {
    for (const l of this.changeListeners) {
      try {
        l(a.record, e);
      } catch {
        // The cluster layer's failure is its own; this server's agents carry on.
      }
    }
  }

  // --- Printers --------------------------------------------------------------------------------

  async listPrinters(ownerUserId: string): Promise<ConnectedPrinter[]> {
    const out: ConnectedPrinter[] = [];
    for (const a of this.live.values())
      if (a.welcomed && a.record.ownerUserId === ownerUserId)
        for (const p of a.printers) out.push({ agentId: a.record.id, agentName: a.record.name, ...p });
    return out.sort(
      (x, y) => x.agentName.localeCompare(y.agentName, 'en') || x.name.localeCompare(y.name, 'en'),
    );
  }

  /**
   * Sends a rendered card to one of the owner's printers through its agent, and resolves with the
   * job's end (completed, aborted, canceled, stopped); rejects when the agent could not submit it
   * or went away meanwhile.
   */
  print(
    ownerUserId: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome> {
    const a = this.live.get(agentId);
    if (!a?.welcomed || a.record.ownerUserId !== ownerUserId)
      return Promise.reject(new NotFoundError('connected agent', agentId));
    if (!a.printers.some((p) => p.name === printer))
      return Promise.reject(
        new TransportError(`The agent "${a.record.name}" has no printer named "${printer}"`, { printer }),
      );
    const id = randomUUID();
    return new Promise<PrintOutcome>((resolve, reject) => {
      // The agent ends every job itself (its own deadline is timeoutMs); this one only catches an
      // agent that never answers.
      const timer = setTimeout(() => {
        a.prints.delete(id);
        reject(
          new TransportError(`The agent "${a.record.name}" did not report the print job's end`, { printer }),
        );
      }, opts.timeoutMs + 30_000);
      timer.unref();
      a.prints.set(id, {
        resolve: (o) => (clearTimeout(timer), resolve(o)),
        reject: (e) => (clearTimeout(timer), reject(e)),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      a.socket.send(
        frame({
          type: 'print',
          id,
          printer,
          jobName: opts.jobName,
          user: opts.user,
          document: pdf.toString('base64'),
          timeoutMs: opts.timeoutMs,
        }),
      );
    });
  }

  // --- Agents ----------------------------------------------------------------------------------

  isConnected(agentId: string): boolean {
    return this.live.get(agentId)?.welcomed ?? false;
  }

  /** The readers an agent reports now (empty when it is not connected). */
  readersOf(agentId: string): AgentSnapshot['readers'] {
    const a = this.live.get(agentId);
    if (!a?.welcomed) return [];
    return [...a.readers].map(([name, r]) => ({ name, ...r }));
  }

  /** Closes an agent's socket (revocation): it is told not to come back. */
  disconnect(agentId: string, code: number = CLOSE.REVOKED, reason = 'agent revoked'): void {
    const a = this.live.get(agentId);
    if (!a) return;
    a.socket.close(code, reason);
    // A peer that ignores the close handshake is cut off anyway.
    setTimeout(() => a.socket.terminate(), 1000).unref();
    this.drop(a, reason);
  }

  /**
   * Takes over a socket whose bearer token resolved to `record`. A wallet's own frames (type
   * "wallet-…": its person's answers on the phone, docs/mobile.md) are not the agent protocol's: they
   * go, parsed but unchecked, to `onWalletFrame`, which validates them.
   */
  attach(
    socket: AgentSocket,
    record: AgentRecord,
    opts: {
      onWalletFrame?: (frame: { type: string } & Record<string, unknown>) => void;
      /** What the agent announced it can do (FEATURES_HEADER of its upgrade request). */
      features?: ReadonlySet<AgentFeature>;
    } = {},
  ): void {
    if (this.closed) {
      socket.close(CLOSE.GOING_AWAY, 'server shutting down');
      return;
    }
    const previous = this.live.get(record.id);
    if (previous) {
      previous.socket.close(CLOSE.REPLACED, 'replaced by a newer connection of this agent');
      this.drop(previous, 'replaced');
    }
    const send = (m: ServerBody): void => {
      if (socket.readyState !== OPEN) return;
      socket.send(frame(m));
      if (m.type !== 'ping') a.lastSent = Date.now();
    };
    const a: LiveAgent = {
      record,
      socket,
      relay: new CardRelay(
        (req) => {
          if (socket.readyState !== OPEN) throw new Error('the agent socket is closed');
          send(req);
        },
        {
          peer: record.name,
          batch: opts.features?.has('apdu-batch') === true,
          chain: opts.features?.has('apdu-chain') === true,
        },
      ),
      readers: new Map(),
      printers: [],
      prints: new Map(),
      welcomed: false,
      lastHeard: Date.now(),
      lastSent: 0,
      timer: undefined,
      welcomedFeatures: WELCOMED_FEATURES.filter((f) => opts.features?.has(f)),
    };
    this.live.set(record.id, a);
    socket.on('message', (data, isBinary) => {
      a.lastHeard = Date.now();
      if (isBinary) return this.refuse(a, 'binary frames are not part of the agent protocol');
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      if (record.ownerKind === 'wallet' && opts.onWalletFrame && text.startsWith('{')) {
        const own = walletFrame(text);
        if (own) return opts.onWalletFrame(own);
      }
      let msg: AgentMessage;
      try {
        msg = parseAgentMessage(text);
      } catch (e) {
        return this.refuse(a, (e as Error).message);
      }
      this.onMessage(a, msg, send);
    });
    socket.on('close', () => this.drop(a, 'agent disconnected'));
    socket.on('error', () => undefined);
    a.timer = setInterval(() => this.beat(a, send), this.heartbeatMs);
    a.timer.unref();
    if (!this.#presenceTimer) {
      this.#presenceTimer = setInterval(() => void this.#presenceSweep(), this.heartbeatMs);
      this.#presenceTimer.unref();
    }
  }

  /**
   * Once per heartbeat period, for every agent connected here together: their last-seen time
   * written, and those revoked meanwhile (here or by another server) or deleted disconnected — one
   * UPDATE … FROM unnest for all, where each agent's own beat used to read its record and update
   * it (two statements per agent per period: with 1,000 idle agents, ~130 a second). Each agent is
   * still seen and checked once per period.
   */
  async #presenceSweep(): Promise<void> {
    const agents = [...this.live.values()];
    if (agents.length === 0) {
      clearInterval(this.#presenceTimer);
      this.#presenceTimer = undefined;
      return;
    }
    // The previous sweep still waits for the database: this period's is that one.
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const live = await touchLiveAgents(
        this.ctx.db,
        agents.map((a) => a.record.id),
        this.ctx.clock.now(),
      );
      for (const a of agents)
        if (!live.has(a.record.id) && this.live.get(a.record.id) === a) this.disconnect(a.record.id);
    } catch {
      // The database is briefly unreachable: keep the sockets; the next sweep checks again.
    } finally {
      this.#sweeping = false;
    }
  }

  private refuse(a: LiveAgent, message: string): void {
    if (a.socket.readyState === OPEN)
      a.socket.send(frame({ type: 'error', code: 'protocol_error', message }));
    this.opts.log?.('agent protocol error', { agentId: a.record.id, message });
    a.socket.close(CLOSE.PROTOCOL, message.slice(0, 120));
    this.drop(a, 'protocol error');
  }

  /**
   * An agent's own beat: cut off when silent for 3 periods, pinged otherwise (#presenceSweep
   * writes) — unless frames went both ways within the period (a card being worked on): each side
   * has heard the other, which is all a ping would tell, so a busy agent costs no heartbeat.
   */
  private beat(a: LiveAgent, send: (m: ServerBody) => void): void {
    if (this.live.get(a.record.id) !== a) return;
    const now = Date.now();
    if (now - a.lastHeard > HEARTBEAT_MISSES * this.heartbeatMs) {
      this.opts.log?.('agent heartbeat lost', { agentId: a.record.id });
      a.socket.terminate();
      this.drop(a, 'agent heartbeat lost');
      return;
    }
    if (now - a.lastHeard < this.heartbeatMs && now - a.lastSent < this.heartbeatMs) return;
    send({ type: 'ping', at: now });
  }

  private onMessage(a: LiveAgent, m: AgentMessage, send: (m: ServerBody) => void): void {
    if (!a.welcomed && m.type !== 'hello')
      return this.refuse(a, `the first frame must be "hello", got "${m.type}"`);
    // A wallet is one reader named by the server ("<person>'s phone"); it may not report others.
    if (a.record.ownerKind === 'wallet') {
      const names =
        m.type === 'readers'
          ? m.readers.map((r) => r.name)
          : m.type === 'reader-event'
            ? [m.event.reader]
            : m.type === 'card-serial'
              ? [m.reader]
              : [];
      if (names.some((n) => n !== a.record.name))
        return this.refuse(a, `a wallet has one reader, "${a.record.name}"`);
    }
    switch (m.type) {
      case 'hello':
        if (a.welcomed) return this.refuse(a, 'a second "hello"');
        a.welcomed = true;
        a.record = { ...a.record, hostname: m.hostname };
        send({
          type: 'welcome',
          agentId: a.record.id,
          name: a.record.name,
          heartbeatMs: this.heartbeatMs,
          ...(a.welcomedFeatures.length ? { features: a.welcomedFeatures } : {}),
        });
        this.changed(a, null);
        this.opts.log?.('agent connected', {
          agentId: a.record.id,
          name: a.record.name,
          hostname: m.hostname,
        });
        void touchAgent(this.ctx.db, a.record.id, this.ctx.clock.now(), m.hostname.slice(0, 255)).catch(
          () => undefined,
        );
        return;
      case 'readers': {
        const next = new Map<string, LiveReader>(
          m.readers.map((r) => [
            r.name,
            // A present card's serial comes after, in a card-serial frame.
            { cardPresent: r.cardPresent, atr: r.cardPresent ? r.atr : null, serial: null },
          ]),
        );
        // Emit what changed, so watchers see the same events whether a reader came or went live.
        for (const [name, old] of a.readers) {
          const now = next.get(name);
          if (!now) {
            if (old.cardPresent) this.cardGone(a, name);
            this.emit(a, { type: 'reader-removed', reader: name });
          } else if (old.cardPresent && (!now.cardPresent || now.atr !== old.atr)) this.cardGone(a, name);
        }
        for (const [name, now] of next) {
          const old = a.readers.get(name);
          if (!old) this.emit(a, { type: 'reader-added', reader: name });
          if (now.cardPresent && (!old?.cardPresent || old.atr !== now.atr))
            this.emit(a, { type: 'card-inserted', reader: name, atr: fromHex(now.atr ?? '') });
        }
        a.readers = next;
        this.changed(a, null);
        return;
      }
      case 'reader-event': {
        const e = m.event;
        if (e.type === 'reader-added') {
          if (!a.readers.has(e.reader))
            a.readers.set(e.reader, { cardPresent: false, atr: null, serial: null });
          this.emit(a, e);
        } else if (e.type === 'reader-removed') {
          if (a.readers.get(e.reader)?.cardPresent) this.cardGone(a, e.reader);
          a.readers.delete(e.reader);
          this.emit(a, e);
        } else if (e.type === 'card-inserted') {
          a.readers.set(e.reader, { cardPresent: true, atr: e.atr, serial: null });
          this.emit(a, { type: 'card-inserted', reader: e.reader, atr: fromHex(e.atr) });
        } else {
          this.cardGone(a, e.reader);
        }
        return;
      }
      case 'card-serial': {
        if (!a.welcomedFeatures.includes('card-serial'))
          return this.refuse(a, '"card-serial" frames were not agreed in the welcome');
        const r = a.readers.get(m.reader);
        // Frames come in order: a card reported gone since is not the one the serial is of.
        if (!r?.cardPresent) return;
        r.serial = m.serial;
        this.changed(a, null);
        return;
      }
      case 'connect-result':
      case 'connect-error':
      case 'apdu-result':
      case 'apdus-result':
      case 'apdu-error': {
        const { v: _v, ...reply } = m;
        a.relay.deliver(reply);
        return;
      }
      case 'printers':
        a.printers = m.printers;
        this.changed(a, null);
        return;
      case 'print-progress':
        a.prints.get(m.id)?.onProgress?.({ jobId: m.jobId, state: m.state, reasons: m.reasons });
        return;
      case 'print-result': {
        const p = a.prints.get(m.id);
        a.prints.delete(m.id);
        p?.resolve({ jobId: m.jobId, state: m.state, reasons: m.reasons, message: m.message });
        return;
      }
      case 'print-error': {
        const p = a.prints.get(m.id);
        a.prints.delete(m.id);
        p?.reject(new TransportError(m.message, { code: m.code }));
        return;
      }
      case 'pong':
        return;
    }
  }

  private cardGone(a: LiveAgent, reader: string): void {
    const r = a.readers.get(reader);
    if (r) a.readers.set(reader, { cardPresent: false, atr: null, serial: null });
    a.relay.cardRemoved(reader);
    this.emit(a, { type: 'card-removed', reader });
  }

  private emit(a: LiveAgent, e: ReaderEvent): void {
    for (const w of this.watchers) {
      if (!visibleTo(a.record, w.owner)) continue;
      try {
        w.listener({ agentId: a.record.id, ...e });
      } catch {
        // A watcher's failure is its own; the other watchers still hear the event.
      }
    }
    this.changed(a, e);
  }

  private drop(a: LiveAgent, reason: string): void {
    clearInterval(a.timer);
    a.relay.close(reason);
    for (const p of a.prints.values())
      p.reject(new TransportError(`The agent went away while printing (${reason})`, { reason }));
    a.prints.clear();
    if (this.live.get(a.record.id) !== a) return;
    this.live.delete(a.record.id);
    if (a.welcomed) {
      for (const [name, r] of a.readers) {
        if (r.cardPresent) this.emit(a, { type: 'card-removed', reader: name });
        this.emit(a, { type: 'reader-removed', reader: name });
      }
      this.opts.log?.('agent disconnected', { agentId: a.record.id, reason });
    }
    this.changed(a, null);
  }

  /** Closes every agent socket (server shutdown); agents reconnect to the next server. */
  close(): void {
    this.closed = true;
    clearInterval(this.#presenceTimer);
    this.#presenceTimer = undefined;
    for (const a of [...this.live.values()]) {
      a.socket.close(CLOSE.GOING_AWAY, 'server shutting down');
      this.drop(a, 'server shutting down');
    }
    this.watchers.clear();
  }
}

export { ProtocolError };

/** A wallet's own frame ({"type":"wallet-…"}), or null: anything else is the agent protocol's. */
function walletFrame(text: string): ({ type: string } & Record<string, unknown>) | null {
  if (text.length > 4096) return null;
  try {
    const m = JSON.parse(text) as unknown;
    if (m && typeof m === 'object' && !Array.isArray(m)) {
      const t = (m as { type?: unknown }).type;
      if (typeof t === 'string' && t.startsWith('wallet-'))
        return m as { type: string } & Record<string, unknown>;
    }
  } catch {
    // not JSON: the agent protocol's parser says so
  }
  return null;
}
