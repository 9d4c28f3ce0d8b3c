// The server's end of the agents: live WebSockets of paired workstation agents, the readers each
// reports, and card connections relayed through them (CardAccess). Sockets are inherently held in
// this process's memory; who an agent is and whom it belongs to lives in the database, which the
// hub checks at every heartbeat (one statement for all its agents) so a revocation made by another
// server process also takes effect. Beside it: agent-frames.ts (what a received frame is),
// agent-readers.ts (an agent's readers and their events), agent-prints.ts (its print jobs) and
// agent-presence.ts (the heartbeat and the presence sweep).
import { NotFoundError } from '../domain/errors.js';
import { CardRemovedError, TransportError } from '../cards/errors.js';
import { CardRelay } from '../cards/transport/relay.js';
import type { CardConnection, ReaderEvent, TransmitOptions } from '../cards/transport/types.js';
import {
  CLOSE,
  DEFAULT_HEARTBEAT_MS,
  frame,
  ProtocolError,
  type AgentFeature,
  type AgentMessage,
  type PrinterInfo,
  type ServerBody,
  type WelcomedFeature,
  WELCOMED_FEATURES,
} from '../cards/transport/agent-protocol.js';
import { touchAgent, type AgentRecord } from '../store/agents-repo.js';
import { readerNames, readFrame, type WalletFrame } from './agent-frames.js';
import { beatAction, PresenceSweep } from './agent-presence.js';
import {
  AgentPrints,
  type ConnectedPrinter,
  type PrintJobOptions,
  type PrintOutcome,
} from './agent-prints.js';
import { AgentReaders, type ReportedReader } from './agent-readers.js';
import type { CardAccess, ConnectedReader } from './card-access.js';
import type { ServiceContext } from './context.js';

export type { CardAccess, ConnectedReader } from './card-access.js';
export type { ConnectedPrinter, PrintJobOptions, PrintOutcome } from './agent-prints.js';
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

type OwnerEvent = { agentId: string } & ReaderEvent;

interface LiveAgent {
  record: AgentRecord;
  socket: AgentSocket;
  relay: CardRelay;
  readers: AgentReaders;
  printers: PrinterInfo[];
  prints: AgentPrints;
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
  readers: ReportedReader[];
  printers: PrinterInfo[];
}

/**
 * Whose sessions see and drive an agent's readers: its owner; for a phone's wallet linked by an
 * operator's issuance, that operator too (docs/mobile.md).
 */
export const visibleTo = (
  r: Pick<AgentRecord, 'ownerUserId' | 'ownerKind' | 'operatorUserId'>,
  userId: string,
): boolean => r.ownerUserId === userId || (r.ownerKind === 'wallet' && r.operatorUserId === userId);

export class AgentHub implements CardAccess {
  private readonly live = new Map<string, LiveAgent>();
  private readonly watchers = new Set<{ owner: string; listener: (e: OwnerEvent) => void }>();
  /** Who hears every change of every agent here (the cluster layer tells the other servers). */
  private readonly changeListeners = new Set<(agent: AgentRecord, e: ReaderEvent | null) => void>();
  private closed = false;
  readonly heartbeatMs: number;
  readonly #presence: PresenceSweep;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: AgentHubOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#presence = new PresenceSweep(ctx, this.live, this.heartbeatMs, (id) => this.disconnect(id));
  }

  // --- CardAccess ------------------------------------------------------------------------------

  async listReaders(ownerUserId: string): Promise<ConnectedReader[]> {
    const out: ConnectedReader[] = [];
    for (const a of this.live.values()) {
      if (!a.welcomed || !visibleTo(a.record, ownerUserId)) continue;
      for (const r of a.readers.list())
        out.push({
          agentId: a.record.id,
          agentName: a.record.name,
          reader: r.name,
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
    return { readers: a.readers.list(), printers: a.printers };
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
    return a.prints.submit(a.socket, a.record.name, printer, pdf, opts);
  }

  // --- Agents ----------------------------------------------------------------------------------

  isConnected(agentId: string): boolean {
    return this.live.get(agentId)?.welcomed ?? false;
  }

  /** The readers an agent reports now (empty when it is not connected). */
  readersOf(agentId: string): AgentSnapshot['readers'] {
    const a = this.live.get(agentId);
    if (!a?.welcomed) return [];
    return a.readers.list();
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
      onWalletFrame?: (frame: WalletFrame) => void;
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
      readers: new AgentReaders({
        cardRemoved: (reader) => a.relay.cardRemoved(reader),
        emit: (e) => this.emit(a, e),
      }),
      printers: [],
      prints: new AgentPrints(),
      welcomed: false,
      lastHeard: Date.now(),
      lastSent: 0,
      timer: undefined,
      welcomedFeatures: WELCOMED_FEATURES.filter((f) => opts.features?.has(f)),
    };
    this.live.set(record.id, a);
    socket.on('message', (data, isBinary) => {
      a.lastHeard = Date.now();
      const f = readFrame(data, isBinary, record.ownerKind === 'wallet' && opts.onWalletFrame !== undefined);
      if (f.kind === 'refused') return this.refuse(a, f.reason);
      if (f.kind === 'wallet') return opts.onWalletFrame?.(f.frame);
      this.onMessage(a, f.message, send);
    });
    socket.on('close', () => this.drop(a, 'agent disconnected'));
    socket.on('error', () => undefined);
    a.timer = setInterval(() => this.beat(a, send), this.heartbeatMs);
    a.timer.unref();
    this.#presence.start();
  }

  private refuse(a: LiveAgent, message: string): void {
    if (a.socket.readyState === OPEN)
      a.socket.send(frame({ type: 'error', code: 'protocol_error', message }));
    this.opts.log?.('agent protocol error', { agentId: a.record.id, message });
    a.socket.close(CLOSE.PROTOCOL, message.slice(0, 120));
    this.drop(a, 'protocol error');
  }

  /** An agent's own beat (beatAction says why a busy agent is not pinged). */
  private beat(a: LiveAgent, send: (m: ServerBody) => void): void {
    if (this.live.get(a.record.id) !== a) return;
    const now = Date.now();
    const action = beatAction(now, a.lastHeard, a.lastSent, this.heartbeatMs);
    if (action === 'cut-off') {
      this.opts.log?.('agent heartbeat lost', { agentId: a.record.id });
      a.socket.terminate();
      this.drop(a, 'agent heartbeat lost');
    } else if (action === 'ping') send({ type: 'ping', at: now });
  }

  private onMessage(a: LiveAgent, m: AgentMessage, send: (m: ServerBody) => void): void {
    if (!a.welcomed && m.type !== 'hello')
      return this.refuse(a, `the first frame must be "hello", got "${m.type}"`);
    // A wallet is one reader named by the server ("<person>'s phone"); it may not report others.
    if (a.record.ownerKind === 'wallet' && readerNames(m).some((n) => n !== a.record.name))
      return this.refuse(a, `a wallet has one reader, "${a.record.name}"`);
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
      case 'readers':
        a.readers.replace(m.readers);
        this.changed(a, null);
        return;
      case 'reader-event':
        a.readers.apply(m.event);
        return;
      case 'card-serial':
        if (!a.welcomedFeatures.includes('card-serial'))
          return this.refuse(a, '"card-serial" frames were not agreed in the welcome');
        if (a.readers.setSerial(m.reader, m.serial)) this.changed(a, null);
        return;
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
      case 'print-result':
      case 'print-error':
        a.prints.deliver(m);
        return;
      case 'pong':
        return;
    }
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
    a.prints.failAll(reason);
    if (this.live.get(a.record.id) !== a) return;
    this.live.delete(a.record.id);
    if (a.welcomed) {
      for (const r of a.readers.list()) {
        if (r.cardPresent) this.emit(a, { type: 'card-removed', reader: r.name });
        this.emit(a, { type: 'reader-removed', reader: r.name });
      }
      this.opts.log?.('agent disconnected', { agentId: a.record.id, reason });
    }
    this.changed(a, null);
  }

  /** Closes every agent socket (server shutdown); agents reconnect to the next server. */
  close(): void {
    this.closed = true;
    this.#presence.stop();
    for (const a of [...this.live.values()]) {
      a.socket.close(CLOSE.GOING_AWAY, 'server shutting down');
      this.drop(a, 'server shutting down');
    }
    this.watchers.clear();
  }
}

export { ProtocolError };
