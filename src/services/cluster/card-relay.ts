// A card connection to an agent held by another server (issue #20): each exchange is a message on
// the bus to the holder, which talks to the card through the agent's socket and answers on the bus.
// Used for short card work started on any server — listing the cards in readers (their serials),
// checking the card before an issuance is queued, the new PIN at the end, recycling — and for a
// print job sent to one of the agent's printers (a sample card); the long personalization and the
// print step itself run on the holder (services/issuance/job-dispatch.ts). Messages are
// sealed with a key derived from the master key every server shares: APDUs carry PINs and
// management-key cryptograms, and NOTIFY payloads pass through the database.
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { CardProtocolError, CardRemovedError, CardTimeoutError, TransportError } from '../../cards/errors.js';
import { MAX_BATCH } from '../../cards/transport/agent-protocol.js';
import {
  DEFAULT_TRANSMIT_TIMEOUT_MS,
  type CardConnection,
  type TransmitOptions,
} from '../../cards/transport/types.js';
import { DomainError, ExternalError, NotFoundError } from '../../domain/errors.js';
import type { PrintJobOptions, PrintOutcome } from '../agent-hub.js';
import type { Bus } from './bus.js';

/** What the holder reaches cards and printers with (its agent hub). */
export interface LocalCards {
  connect(owner: string, agentId: string, reader: string, opts?: TransmitOptions): Promise<CardConnection>;
  print?(
    owner: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome>;
}

type PrintProgress = Parameters<NonNullable<PrintJobOptions['onProgress']>>[0];

type Request =
  | {
      k: 'connect';
      owner: string;
      agentId: string;
      reader: string;
      /** A workstation uses the card (a phone's wallet then asks before each key use): kept across servers. */
      use?: TransmitOptions['use'];
    }
  /** seq: the command's number on its connection, so a replayed message is refused. */
  | { k: 'apdu'; cid: string; seq: number; apdu: string; timeoutMs: number }
  /**
   * Several commands in one message (a holder that said `batch` on connect): run in order at the
   * card, stopping after the first answer not 9000, as an agent's "apdus".
   */
  | { k: 'apdus'; cid: string; seq: number; apdus: string[]; timeoutMs: number }
  | { k: 'close'; cid: string }
  /** A one-time ticket for the print that follows (so a replayed print request prints nothing). */
  | { k: 'print-ticket' }
  /** A PDF (base64) for one of the agent's printers; the holder follows the job to its end. */
  | {
      k: 'print';
      ticket: string;
      owner: string;
      agentId: string;
      printer: string;
      document: string;
      jobName: string;
      user: string;
      timeoutMs: number;
    };

type Message =
  | ({ to: string; from: string; id: string } & Request)
  | {
      to: string;
      from: string;
      id: string;
      k: 'reply';
      data?: string;
      error?: { code: string; message: string; details?: Record<string, unknown> };
    }
  /** How a print job relayed to the holder goes, before its reply. */
  | ({ to: string; from: string; id: string; k: 'progress' } & PrintProgress);

/** A connection through another server; `holder` tells the job dispatch where to queue the job. */
export interface RelayedConnection extends CardConnection {
  readonly holder: string;
  readonly agentId: string;
  readonly reader: string;
}

/** A holder drops a connection nobody used for this long (its opener died or forgot it). */
const IDLE_MS = 120_000;
/** The agent ends a print job itself by then; past it, the holder answers that it did not. */
const PRINT_GRACE_MS = 35_000;
/** A print ticket not used by then is dropped. */
const PRINT_TICKET_MS = 60_000;

export class BusCardRelay {
  readonly #pending = new Map<
    string,
    { resolve(data: string): void; reject(e: Error): void; progress?: (p: PrintProgress) => void }
  >();
  /** Print tickets handed out and not used yet: each admits one print request. */
  readonly #tickets = new Map<string, NodeJS.Timeout>();
  readonly #open = new Map<string, { conn: CardConnection; timer: NodeJS.Timeout; next: number }>();
  readonly #stop: () => void;

  constructor(
    private readonly deps: {
      bus: Bus;
      instanceId: string;
      /** 32 bytes, derived from the master key (the same on every server). */
      key: Buffer;
      local: LocalCards;
    },
  ) {
    this.#stop = deps.bus.subscribe('card', (payload, fromHere) => {
      if (fromHere) return;
      let m: Message;
      try {
        m = JSON.parse(this.#open_(payload)) as Message;
      } catch {
        return; // not sealed with our key: not for us
      }
      if (m.to !== deps.instanceId) return;
      if (m.k === 'reply') return this.#reply(m);
      if (m.k === 'progress') {
        const { to: _t, from: _f, id, k: _k, ...p } = m;
        return this.#pending.get(id)?.progress?.(p);
      }
      void this.#serve(m);
    });
  }

  #seal(m: Message): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.deps.key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(m), 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  #open_(payload: string): string {
    const b = Buffer.from(payload, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.deps.key, b.subarray(0, 12));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  }

  #send(m: Message): void {
    this.deps.bus.publish('card', this.#seal(m));
  }

  #call(to: string, req: Request, timeoutMs: number, progress?: (p: PrintProgress) => void): Promise<string> {
    const id = randomUUID();
    return new Promise<string>((resolve, reject) => {
      // The holder answers within the card's own timeout; this catches a holder that died.
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TransportError('The server holding the agent did not answer', { holder: to }));
      }, timeoutMs + 5_000);
      timer.unref();
      this.#pending.set(id, {
        resolve: (d) => (clearTimeout(timer), resolve(d)),
        reject: (e) => (clearTimeout(timer), reject(e)),
        ...(progress ? { progress } : {}),
      });
      this.#send({ ...req, to, from: this.deps.instanceId, id });
    });
  }

  #reply(m: Extract<Message, { k: 'reply' }>): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.error) p.reject(toError(m.error));
    else p.resolve(m.data ?? '');
  }

  /** Opens a connection to a card in a reader of an agent `holder` holds. */
  async connect(
    holder: string,
    owner: string,
    agentId: string,
    reader: string,
    opts?: TransmitOptions,
  ): Promise<RelayedConnection> {
    const timeout = opts?.timeoutMs ?? DEFAULT_TRANSMIT_TIMEOUT_MS;
    const use = opts?.use ? { use: opts.use } : {};
    const reply = JSON.parse(
      await this.#call(holder, { k: 'connect', owner, agentId, reader, ...use }, timeout),
    ) as {
      cid: string;
      atr: string | null;
      /** The holder takes "apdus" (a server that did not say so predates them). */
      batch?: boolean;
    };
    let closed = false;
    let seq = 0;
    const transmitBatch = async (
      apdus: readonly Uint8Array[],
      o?: TransmitOptions,
    ): Promise<Uint8Array[]> => {
      if (closed) throw new TransportError('The card connection is closed', { reader });
      const t = o?.timeoutMs ?? timeout;
      const hex = apdus.map((a) => Buffer.from(a).toString('hex'));
      const data = await this.#call(
        holder,
        { k: 'apdus', cid: reply.cid, seq: seq++, apdus: hex, timeoutMs: t },
        t * apdus.length,
      );
      return (JSON.parse(data) as string[]).map((r) => Uint8Array.from(Buffer.from(r, 'hex')));
    };
    return {
      holder,
      agentId,
      reader,
      ...(reply.atr ? { atr: Uint8Array.from(Buffer.from(reply.atr, 'hex')) } : {}),
      // A batch is one message each way on the bus instead of one pair per command.
      ...(reply.batch ? { transmitBatch } : {}),
      transmit: async (apdu, o) => {
        if (closed) throw new TransportError('The card connection is closed', { reader });
        const t = o?.timeoutMs ?? timeout;
        const data = await this.#call(
          holder,
          { k: 'apdu', cid: reply.cid, seq: seq++, apdu: Buffer.from(apdu).toString('hex'), timeoutMs: t },
          t,
        );
        return Uint8Array.from(Buffer.from(data, 'hex'));
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await this.#call(holder, { k: 'close', cid: reply.cid }, 5_000).catch(() => undefined);
      },
    };
  }

  /**
   * Prints on a printer of an agent `holder` holds: the document goes to the holder, which sends it
   * to the agent and answers with the job's end (its progress said on the way).
   */
  async print(
    holder: string,
    owner: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome> {
    // Someone able to NOTIFY could send a captured print request again: the holder takes each only
    // with a ticket it handed out (sealed, so unreadable on the bus) and not used yet.
    const ticket = await this.#call(holder, { k: 'print-ticket' }, 5_000);
    const req: Request = {
      k: 'print',
      ticket,
      owner,
      agentId,
      printer,
      document: pdf.toString('base64'),
      jobName: opts.jobName,
      user: opts.user,
      timeoutMs: opts.timeoutMs,
    };
    const data = await this.#call(holder, req, opts.timeoutMs + PRINT_GRACE_MS, opts.onProgress);
    return JSON.parse(data) as PrintOutcome;
  }

  async #serve(
    m: Extract<Message, { k: 'connect' | 'apdu' | 'apdus' | 'close' | 'print-ticket' | 'print' }>,
  ): Promise<void> {
    const answer = (data: string) =>
      this.#send({ to: m.from, from: this.deps.instanceId, id: m.id, k: 'reply', data });
    try {
      if (m.k === 'print-ticket') return answer(this.#ticket());
      if (m.k === 'print') return answer(JSON.stringify(await this.#print(m)));
      if (m.k === 'connect') {
        const conn = await this.deps.local.connect(
          m.owner,
          m.agentId,
          m.reader,
          m.use ? { use: m.use } : undefined,
        );
        const cid = randomUUID();
        this.#keep(cid, conn);
        return answer(
          JSON.stringify({
            cid,
            atr: conn.atr ? Buffer.from(conn.atr).toString('hex') : null,
            batch: true,
          }),
        );
      }
      const open = this.#open.get(m.cid);
      if (m.k === 'close') {
        if (open) {
          clearTimeout(open.timer);
          this.#open.delete(m.cid);
          await open.conn.close?.().catch(() => undefined);
        }
        return answer('');
      }
      if (!open) throw new TransportError('The card connection is closed');
      // Someone able to NOTIFY on the database could send a captured message again: each command
      // is taken once, in order (its content stays sealed).
      if (m.seq !== open.next) throw new TransportError('A card command arrived out of order');
      open.next++;
      this.#keep(m.cid, open.conn);
      const opts = { timeoutMs: m.timeoutMs };
      if (m.k === 'apdus') {
        const apdus = m.apdus.slice(0, MAX_BATCH).map((a) => Uint8Array.from(Buffer.from(a, 'hex')));
        const res = await runBatch(open.conn, apdus, opts);
        return answer(JSON.stringify(res.map((r) => Buffer.from(r).toString('hex'))));
      }
      const res = await open.conn.transmit(Uint8Array.from(Buffer.from(m.apdu, 'hex')), opts);
      return answer(Buffer.from(res).toString('hex'));
    } catch (e) {
      const err =
        e instanceof DomainError
          ? { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) }
          : { code: 'card_transport', message: 'The card exchange failed on the server holding the agent' };
      this.#send({ to: m.from, from: this.deps.instanceId, id: m.id, k: 'reply', error: err });
    }
  }

  async #print(m: Extract<Message, { k: 'print' }>): Promise<PrintOutcome> {
    if (!this.deps.local.print) throw new TransportError('This server does not print');
    const timer = this.#tickets.get(m.ticket);
    if (!timer) throw new TransportError('This print request was already taken, or came too late');
    clearTimeout(timer);
    this.#tickets.delete(m.ticket);
    return this.deps.local.print(m.owner, m.agentId, m.printer, Buffer.from(m.document, 'base64'), {
      jobName: m.jobName,
      user: m.user,
      timeoutMs: m.timeoutMs,
      onProgress: (p) =>
        this.#send({ to: m.from, from: this.deps.instanceId, id: m.id, k: 'progress', ...p }),
    });
  }

  #ticket(): string {
    const ticket = randomUUID();
    const timer = setTimeout(() => this.#tickets.delete(ticket), PRINT_TICKET_MS);
    timer.unref();
    this.#tickets.set(ticket, timer);
    return ticket;
  }

  #keep(cid: string, conn: CardConnection): void {
    const was = this.#open.get(cid);
    if (was) clearTimeout(was.timer);
    const timer = setTimeout(() => {
      this.#open.delete(cid);
      void conn.close?.().catch(() => undefined);
    }, IDLE_MS);
    timer.unref();
    this.#open.set(cid, { conn, timer, next: was?.next ?? 0 });
  }

  close(): void {
    this.#stop();
    for (const [cid, o] of this.#open) {
      clearTimeout(o.timer);
      void o.conn.close?.().catch(() => undefined);
      this.#open.delete(cid);
    }
    for (const p of this.#pending.values()) p.reject(new TransportError('The server is stopping'));
    this.#pending.clear();
    for (const t of this.#tickets.values()) clearTimeout(t);
    this.#tickets.clear();
  }
}

/**
 * The commands at the card in order, stopping after the first answer not 9000: in one exchange
 * where the holder's own connection runs batches (its agent's), else one by one.
 */
async function runBatch(
  conn: CardConnection,
  apdus: readonly Uint8Array[],
  opts: TransmitOptions,
): Promise<Uint8Array[]> {
  if (conn.transmitBatch) return conn.transmitBatch(apdus, opts);
  const out: Uint8Array[] = [];
  for (const a of apdus) {
    const r = await conn.transmit(a, opts);
    out.push(r);
    if (r.length < 2 || r[r.length - 2] !== 0x90 || r[r.length - 1] !== 0) break;
  }
  return out;
}

/** The holder's error as the opener throws it: the same class where it matters to the caller. */
function toError(e: { code: string; message: string; details?: Record<string, unknown> }): Error {
  const d = e.details ?? {};
  switch (e.code) {
    case 'card_removed':
      return new CardRemovedError(typeof d.reader === 'string' ? d.reader : undefined);
    case 'card_timeout':
      return new CardTimeoutError(typeof d.timeoutMs === 'number' ? d.timeoutMs : 0);
    case 'card_protocol':
      return new CardProtocolError(e.message, d);
    case 'not_found':
      return new NotFoundError(String(d.entity ?? 'connected agent'), String(d.id ?? ''));
    case 'card_transport':
      return new TransportError(e.message, d);
    default:
      return new ExternalError(e.code, e.message, d);
  }
}
