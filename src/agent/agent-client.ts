// The workstation agent: a dumb, authenticated relay between the server and the card readers of
// this machine. It reports its readers and every card insert/remove, opens a reader when the
// server asks, passes the server's APDUs to the card and the card's answers back. It holds no card
// secret and makes no decision: the server drives everything (DESIGN.md, Processes).
//
// It keeps itself connected: after a drop it reconnects with exponential backoff; a dead
// connection (no heartbeat for 3 periods) is torn down and reconnected; a revoked or unknown token
// stops it for good (pairing again is the only way back).
import { hostname as osHostname, platform } from 'node:os';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { CardConnection, ReaderEvent, ReaderSet } from '../cards/transport/types.js';
import {
  decodeCommand,
  decodeResponse,
  encodeCommand,
  encodeResponse,
  type CommandApdu,
} from '../cards/apdu.js';
import { followResponse } from '../cards/iso7816.js';
import type { AgentPrinters } from './printers.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { tokenRefused } from './token-refused.js';
import { readCardSerial } from './card-serial.js';
import { AgentPrinting } from './agent-printing.js';
import { errorFields } from './error-fields.js';
import { VERSION } from '../config/version.js';
import {
  CLOSE,
  DEFAULT_HEARTBEAT_MS,
  frame,
  AGENT_FEATURES,
  FEATURES_HEADER,
  MAX_SERVER_FRAME,
  parseServerMessage,
  ProtocolError,
  type AgentBody,
  type ServerMessage,
  type WireReaderEvent,
} from '../cards/transport/agent-protocol.js';

/** An "apdus-result" carries at most about this many bytes of answers (the server takes 256 KiB frames). */
const BATCH_ANSWER_BYTES = 64 * 1024;

/** The agent reports the version of the Tessera it is part of. */
export const AGENT_VERSION = VERSION;

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

export type AgentState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface AgentClientOptions {
  /** The server's base URL (http://host:port); the socket is at /api/agents/ws on it. */
  server: string;
  token: string;
  readers: ReaderSet;
  /** The workstation's card printers (each with its encoder reader), reported beside the readers. */
  printers?: AgentPrinters;
  hostname?: string;
  /**
   * Read each inserted card's serial for the server (the card-serial feature; default true). Off,
   * the agent opens a card only when the server asks.
   */
  cardSerials?: boolean;
  /** Human-readable progress lines (the CLI prints them). */
  log?: (line: string) => void;
  /** First reconnect delay and its cap, doubled after each failed attempt. */
  backoff?: BackoffOptions;
  /** Called when the agent gives up for good (revoked, unknown token, protocol mismatch). */
  onFatal?: (reason: string) => void;
  onState?: (state: AgentState) => void;
}

interface OpenReader {
  conn: Promise<CardConnection>;
  sessions: Set<string>;
  /** APDUs to one card go one at a time, whichever server-side session sent them. */
  queue: Promise<unknown>;
}

export class AgentClient {
  private ws: WebSocket | undefined;
  private stopped = false;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private readonly open = new Map<string, OpenReader>();
  /** Readers whose connection is being closed: a new one waits (PC/SC keeps one per reader). */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly sessions = new Map<string, string>();
  private unwatch: (() => void) | undefined;
  private readonly printing: AgentPrinting;
  private readonly waiters = new Set<() => void>();
  /** The server takes card serials (its welcome lists card-serial). */
  private serials = false;
  /** Per reader, bumped at each card's coming and going: an earlier card's serial is not sent. */
  private readonly cardTurns = new Map<string, number>();
  private _state: AgentState = 'disconnected';
  agentId: string | undefined;
  agentName: string | undefined;

  constructor(private readonly opts: AgentClientOptions) {
    this.backoff = new Backoff(opts.backoff);
    this.printing = new AgentPrinting({
      printers: opts.printers,
      send: (m) => this.send(m),
      log: (line) => this.log(line),
      connected: () => this._state === 'connected',
      heartbeatMs: () => this.heartbeatMs,
    });
  }

  get state(): AgentState {
    return this._state;
  }

  private setState(s: AgentState): void {
    this._state = s;
    this.opts.onState?.(s);
    if (s === 'connected') for (const w of this.waiters) w();
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  get socketUrl(): string {
    const u = new URL('/api/agents/ws', this.opts.server);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }

  /** Starts (and keeps) the connection. */
  start(): void {
    this.stopped = false;
    this.unwatch ??= this.opts.readers.watch((e) => this.onReaderEvent(e));
    this.connect();
  }

  /** Resolves once connected (welcomed by the server). */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new Error(`The agent did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Closes the connection and stops reconnecting; leaves the readers to their owner. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.unwatch?.();
    this.unwatch = undefined;
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      ws.close(1000, 'agent stopping');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      ws.terminate();
    }
    await this.dropAllReaders();
    this.setState('stopped');
  }

  /** Drops the connection as a network failure would (tests); the agent reconnects. */
  dropConnection(): void {
    this.ws?.terminate();
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const ws = new WebSocket(this.socketUrl, {
      // The features header tells a server that knows them what this agent can do (agent-protocol.ts).
      headers: {
        authorization: `Bearer ${this.opts.token}`,
        [FEATURES_HEADER]: AGENT_FEATURES.filter(
          (f) => f !== 'card-serial' || this.opts.cardSerials !== false,
        ).join(','),
      },
      handshakeTimeout: 10_000,
      maxPayload: MAX_SERVER_FRAME,
    });
    this.ws = ws;
    let fatal: string | undefined;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) fatal = tokenRefused(this.opts.server, `HTTP ${status}`);
      else this.log(`The server answered HTTP ${status} instead of opening the agent socket`);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.lastHeard = Date.now();
      this.send({
        type: 'hello',
        agentVersion: AGENT_VERSION,
        hostname: this.hostname,
        platform: platform(),
      });
    });
    ws.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      if (isBinary) return this.log('Ignored a binary frame from the server');
      let msg: ServerMessage;
      try {
        msg = parseServerMessage(data.toString());
      } catch (e) {
        this.log(`Ignored a bad frame from the server: ${(e as Error).message}`);
        return;
      }
      void this.onMessage(msg);
    });
    ws.on('error', (e) => {
      if (!fatal) this.log(`Connection problem: ${e.message}`);
    });
    ws.on('close', (code, reason) => {
      clearInterval(this.heartbeat);
      this.printing.stop();
      if (this.ws === ws) this.ws = undefined;
      void this.dropAllReaders();
      const why = reason.toString();
      if (code === CLOSE.REVOKED) fatal = tokenRefused(this.opts.server, 'the agent was revoked');
      else if (code === CLOSE.UNAUTHORIZED) fatal = tokenRefused(this.opts.server, why || 'unknown token');
      else if (code === CLOSE.PROTOCOL) fatal = `the server reports a protocol error: ${why}`;
      const wasConnected = this._state === 'connected';
      if (this.stopped) return;
      if (fatal) {
        this.stopped = true;
        this.setState('stopped');
        this.log(`Stopped: ${fatal}`);
        this.unwatch?.();
        this.unwatch = undefined;
        this.opts.onFatal?.(fatal);
        return;
      }
      this.setState('disconnected');
      const delay = this.backoff.next();
      this.log(
        `${wasConnected ? 'Disconnected' : 'Could not connect'} (${code}${why ? `: ${why}` : ''}); retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private get hostname(): string {
    return this.opts.hostname ?? osHostname();
  }

  private send(m: AgentBody): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(frame(m));
  }

  private startHeartbeatWatch(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > 3 * this.heartbeatMs) {
        this.log(`No word from the server for ${Math.round((3 * this.heartbeatMs) / 1000)} s: reconnecting`);
        this.ws?.terminate();
      }
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private async onMessage(m: ServerMessage): Promise<void> {
    switch (m.type) {
      case 'welcome': {
        this.backoff.reset();
        this.agentId = m.agentId;
        this.agentName = m.name;
        this.heartbeatMs = m.heartbeatMs;
        this.serials = this.opts.cardSerials !== false && m.features?.includes('card-serial') === true;
        this.startHeartbeatWatch();
        this.setState('connected');
        this.log(`Connected to ${this.opts.server} as "${m.name}" (agent ${m.agentId})`);
        await this.sendSnapshot();
        await this.printing.sendPrinters(true);
        return;
      }
      case 'ping':
        this.send({ type: 'pong', at: m.at });
        return;
      case 'connect':
        return this.onConnect(m.id, m.reader);
      case 'apdu':
        return this.onApdu(m);
      case 'apdus':
        return this.onApdus(m);
      case 'disconnect':
        return this.onDisconnect(m.session, m.reader);
      case 'print':
        return this.printing.onPrint(m);
      case 'error':
        this.log(`The server reports: ${m.message} (${m.code})`);
        return;
    }
  }

  private async sendSnapshot(): Promise<void> {
    try {
      const readers = await this.opts.readers.list();
      this.send({
        type: 'readers',
        readers: readers.map((r) => ({
          name: r.name,
          cardPresent: r.cardPresent,
          atr: r.cardPresent && r.atr ? hex(r.atr) : null,
        })),
      });
      if (readers.length === 0) this.log('No card readers found (yet)');
      for (const r of readers) this.log(`Reader "${r.name}": ${r.cardPresent ? 'card present' : 'empty'}`);
      for (const r of readers) if (r.cardPresent) this.sendSerial(r.name);
    } catch (e) {
      this.log(`Could not list the card readers: ${(e as Error).message}`);
      this.send({ type: 'readers', readers: [] });
    }
  }

  /**
   * Reads the serial of the card just reported in `reader` and sends it (card-serial), when the
   * server takes serials. The read is the card's first work in the reader's queue (the server has
   * not heard of the card before this turn), so the server's commands come after it, never in
   * between. It is sent only while the same card is in the reader, on the same connection.
   */
  private sendSerial(reader: string): void {
    const ws = this.ws;
    if (!this.serials || this._state !== 'connected') return;
    const turn = this.cardTurns.get(reader) ?? 0;
    const r = this.openReader(reader);
    // A card the reader cannot connect to has no serial to send (never a rejection left unheard).
    const read = (): Promise<string | undefined> => r.conn.then(readCardSerial, () => undefined);
    const done = r.queue.then(read, read);
    r.queue = done;
    void done.then(async (serial) => {
      if (serial && this.ws === ws && this.serials && (this.cardTurns.get(reader) ?? 0) === turn)
        this.send({ type: 'card-serial', reader, serial });
      // A reader no session of the server uses is let go again.
      if (this.open.get(reader) === r && r.sessions.size === 0) await this.dropReader(reader);
    });
  }

  private onReaderEvent(e: ReaderEvent): void {
    if (e.type === 'card-removed' || e.type === 'reader-removed') void this.dropReader(e.reader);
    if (e.type !== 'reader-added') this.cardTurns.set(e.reader, (this.cardTurns.get(e.reader) ?? 0) + 1);
    const words: Record<ReaderEvent['type'], string> = {
      'reader-added': 'Reader added',
      'reader-removed': 'Reader removed',
      'card-inserted': 'Card inserted in',
      'card-removed': 'Card removed from',
    };
    this.log(`${words[e.type]} "${e.reader}"`);
    const wire: WireReaderEvent =
      e.type === 'card-inserted' ? { type: e.type, reader: e.reader, atr: hex(e.atr) } : e;
    this.send({ type: 'reader-event', event: wire });
    if (e.type === 'card-inserted') this.sendSerial(e.reader);
  }

  /** The reader's open connection, opened when none is. */
  private openReader(reader: string): OpenReader {
    let r = this.open.get(reader);
    if (!r) {
      const conn = (this.closing.get(reader) ?? Promise.resolve()).then(() =>
        this.opts.readers.connect(reader),
      );
      conn.catch(() => undefined);
      r = { conn, sessions: new Set(), queue: Promise.resolve() };
      this.open.set(reader, r);
    }
    return r;
  }

  private async onConnect(id: string, reader: string): Promise<void> {
    const r = this.openReader(reader);
    // Counted before the wait: a serial read that ends meanwhile leaves the reader open for it.
    const session = randomUUID();
    r.sessions.add(session);
    this.sessions.set(session, reader);
    try {
      const conn = await r.conn;
      this.send({ type: 'connect-result', id, session, atr: hex(conn.atr) });
    } catch (e) {
      r.sessions.delete(session);
      this.sessions.delete(session);
      if (this.open.get(reader) === r && r.sessions.size === 0) this.open.delete(reader);
      this.send({ type: 'connect-error', id, ...errorFields(e) });
    }
  }

  /**
   * A step's commands in one frame: run in order, stopping after the first that is not 9000. With
   * `chain`, each command's 61xx and 6Cxx are followed here (GET RESPONSE, the Le the card names),
   * and its whole answer returned, as the server's card layer would have.
   */
  private onApdus(m: Extract<ServerMessage, { type: 'apdus' }>): Promise<void> {
    return this.onCard(m, async (conn) => {
      const responses: string[] = [];
      let size = 0;
      const opts = { timeoutMs: m.timeoutMs };
      const exchange = async (c: CommandApdu) => decodeResponse(await conn.transmit(encodeCommand(c), opts));
      for (const apdu of m.apdus) {
        const bytes = Uint8Array.from(Buffer.from(apdu, 'hex'));
        let res = await conn.transmit(bytes, opts);
        if (m.chain && res.length >= 2 && (res[res.length - 2] === 0x61 || res[res.length - 2] === 0x6c)) {
          const whole = await followResponse(exchange, decodeCommand(bytes), decodeResponse(res));
          res = encodeResponse(whole.data, whole.sw);
        }
        responses.push(hex(res));
        if (res.length < 2 || res[res.length - 2] !== 0x90 || res[res.length - 1] !== 0x00) break;
        // The answer stays well under the server's frame limit: the server sends the rest again.
        if ((size += res.length) > BATCH_ANSWER_BYTES) break;
      }
      this.send({ type: 'apdus-result', id: m.id, responses });
    });
  }

  private onApdu(m: Extract<ServerMessage, { type: 'apdu' }>): Promise<void> {
    return this.onCard(m, async (conn) => {
      const res = await conn.transmit(Uint8Array.from(Buffer.from(m.apdu, 'hex')), {
        timeoutMs: m.timeoutMs,
      });
      this.send({ type: 'apdu-result', id: m.id, response: hex(res) });
    });
  }

  /**
   * Card work for a server's request on a session: refused when the card left (we dropped the
   * reader's sessions) or the session is stale; else queued behind the reader's earlier work, its
   * failure answered as an apdu-error.
   */
  private async onCard(
    m: { id: string; session: string; reader: string },
    work: (conn: CardConnection) => Promise<void>,
  ): Promise<void> {
    const reader = this.sessions.get(m.session);
    const r = reader === m.reader ? this.open.get(m.reader) : undefined;
    if (!r || !r.sessions.has(m.session)) {
      this.send({
        type: 'apdu-error',
        id: m.id,
        code: 'card_removed',
        message: `The card was removed from reader "${m.reader}"`,
      });
      return;
    }
    const run = async (): Promise<void> => {
      try {
        await work(await r.conn);
      } catch (e) {
        this.send({ type: 'apdu-error', id: m.id, ...errorFields(e) });
      }
    };
    const next = r.queue.then(run, run);
    r.queue = next;
    await next;
  }

  private async onDisconnect(session: string, reader: string): Promise<void> {
    this.sessions.delete(session);
    const r = this.open.get(reader);
    if (!r) return;
    r.sessions.delete(session);
    if (r.sessions.size === 0) await this.dropReader(reader);
  }

  private async dropReader(reader: string): Promise<void> {
    const r = this.open.get(reader);
    if (!r) return;
    this.open.delete(reader);
    for (const s of r.sessions) this.sessions.delete(s);
    const closed = r.conn.then(
      (conn) => conn.close?.().catch(() => undefined),
      () => undefined,
    );
    this.closing.set(reader, closed);
    await closed;
    if (this.closing.get(reader) === closed) this.closing.delete(reader);
  }

  private async dropAllReaders(): Promise<void> {
    await Promise.all([...this.open.keys()].map((name) => this.dropReader(name)));
  }
}

export { ProtocolError };
