// Card readers across the servers sharing a database (issue #20). An agent's (or wallet's) socket
// lives in one server's memory (agent-hub.ts); this layer makes its readers visible from every
// server: the holder writes what the agent reports to agent_presence and says each reader and card
// event on the bus; the others list from that table and pass the events to their watchers. Card
// connections to an agent held elsewhere go through the holder (card-relay.ts).
import type { CardConnection, ReaderEvent, TransmitOptions } from '../../cards/transport/types.js';
import { NotFoundError } from '../../domain/errors.js';
import { getAgent, type AgentRecord } from '../../store/agents-repo.js';
import type { Queryable } from '../../store/db.js';
import { deletePresence, getPresence, listRemotePresence, putPresence } from '../../store/presence-repo.js';
import {
  visibleTo,
  type AgentHub,
  type ConnectedPrinter,
  type PrintJobOptions,
  type PrintOutcome,
} from '../agent-hub.js';
import type { CardAccess, ConnectedReader } from '../card-access.js';
import type { Bus } from './bus.js';

type OwnerEvent = { agentId: string } & ReaderEvent;

/** A reader event as said on the bus: ids and names (the ATR in hex), who may see it. */
interface ReaderWord {
  agentId: string;
  ownerUserId: string;
  ownerKind: AgentRecord['ownerKind'];
  operatorUserId: string | null;
  type: ReaderEvent['type'];
  reader: string;
  atr?: string;
}

/** Opens a connection to a card in a reader of an agent held by another server. */
export interface RemoteCards {
  connect(
    holder: string,
    owner: string,
    agentId: string,
    reader: string,
    opts?: TransmitOptions,
  ): Promise<CardConnection>;
  /** Prints through the holder on one of the agent's printers. */
  print(
    holder: string,
    owner: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome>;
}

export class ClusterCards implements CardAccess {
  /** Agents whose presence row is to be written (coalesced: one write per turn of the loop). */
  readonly #dirty = new Set<string>();
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  readonly #stops: (() => void)[] = [];

  constructor(
    private readonly deps: {
      db: Queryable;
      hub: AgentHub;
      bus: Bus;
      instanceId: string;
      /** Card connections through the holder; without it, only agents held here are reachable. */
      remote?: RemoteCards;
      onError?: (err: unknown) => void;
    },
  ) {
    this.#stops.push(
      deps.hub.onAgentChange((agent, e) => {
        this.#dirty.add(agent.id);
        this.#schedule();
        if (e) this.#say(agent, e);
      }),
    );
  }

  #say(agent: AgentRecord, e: ReaderEvent): void {
    const word: ReaderWord = {
      agentId: agent.id,
      ownerUserId: agent.ownerUserId,
      ownerKind: agent.ownerKind,
      operatorUserId: agent.operatorUserId,
      type: e.type,
      reader: e.reader,
      ...(e.type === 'card-inserted' ? { atr: Buffer.from(e.atr).toString('hex') } : {}),
    };
    this.deps.bus.publish('reader', JSON.stringify(word));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // One flush at a time: rows are written in the order the changes happened.
      this.#flushing = this.#flushing.then(() => this.#flush()).catch((e) => this.deps.onError?.(e));
    });
  }

  async #flush(): Promise<void> {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    for (const agentId of ids) {
      const snap = this.deps.hub.snapshot(agentId);
      if (snap)
        await putPresence(this.deps.db, {
          agentId,
          instanceId: this.deps.instanceId,
          readers: snap.readers,
          printers: snap.printers,
        });
      else await deletePresence(this.deps.db, agentId, this.deps.instanceId);
    }
  }

  /** Resolves once what the agents here reported so far is written (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#scheduled || this.#dirty.size) {
      await new Promise((r) => setImmediate(r));
      await this.#flushing;
    }
    await this.#flushing;
  }

  async listReaders(ownerUserId: string): Promise<ConnectedReader[]> {
    const out = await this.deps.hub.listReaders(ownerUserId);
    const here = new Set(this.deps.hub.connectedIds());
    for (const p of await listRemotePresence(this.deps.db, this.deps.instanceId)) {
      if (here.has(p.agentId) || !visibleTo(p, ownerUserId)) continue;
      for (const r of p.readers)
        out.push({
          agentId: p.agentId,
          agentName: p.agentName,
          reader: r.name,
          cardPresent: r.cardPresent,
          atr: r.atr,
        });
    }
    // As the hub orders them: a fixed locale, so every machine lists alike.
    return out.sort(
      (x, y) =>
        x.agentName.localeCompare(y.agentName, 'en') ||
        x.reader.localeCompare(y.reader, 'en') ||
        x.agentId.localeCompare(y.agentId, 'en'),
    );
  }

  /** The printers of a person's agents, wherever they are connected. */
  async listPrinters(ownerUserId: string): Promise<ConnectedPrinter[]> {
    const out = await this.deps.hub.listPrinters(ownerUserId);
    const here = new Set(this.deps.hub.connectedIds());
    for (const p of await listRemotePresence(this.deps.db, this.deps.instanceId)) {
      if (here.has(p.agentId) || p.ownerUserId !== ownerUserId) continue;
      for (const printer of p.printers as Omit<ConnectedPrinter, 'agentId' | 'agentName'>[])
        out.push({ agentId: p.agentId, agentName: p.agentName, ...printer });
    }
    return out.sort(
      (x, y) => x.agentName.localeCompare(y.agentName, 'en') || x.name.localeCompare(y.name, 'en'),
    );
  }

  /** The agents connected to the other live servers, with the readers each reports. */
  async elsewhere(): Promise<Map<string, { name: string; cardPresent: boolean; atr: string | null }[]>> {
    const here = new Set(this.deps.hub.connectedIds());
    const out = new Map<string, { name: string; cardPresent: boolean; atr: string | null }[]>();
    for (const p of await listRemotePresence(this.deps.db, this.deps.instanceId))
      if (!here.has(p.agentId)) out.set(p.agentId, p.readers);
    return out;
  }

  /**
   * The person's wallets (their phones) connected to any live server, newest link first: a
   * workstation asks to pair with one wherever it is connected.
   */
  async liveWallets(ownerUserId: string): Promise<AgentRecord[]> {
    const out = this.deps.hub.liveWallets(ownerUserId);
    const here = new Set(this.deps.hub.connectedIds());
    for (const p of await listRemotePresence(this.deps.db, this.deps.instanceId)) {
      if (here.has(p.agentId) || p.ownerKind !== 'wallet' || p.ownerUserId !== ownerUserId) continue;
      const record = await getAgent(this.deps.db, p.agentId);
      if (record && !record.revokedAt) out.push(record);
    }
    return out.sort((x, y) => y.createdAt.localeCompare(x.createdAt) || x.id.localeCompare(y.id));
  }

  /**
   * The card in a reader of an agent held by another live server, as the holder published it: the
   * holder and the card's serial, read by the agent when the card came. Null when the agent is held
   * here, or the reader's card or its serial is not known (the caller then opens the card); another
   * person's agent is refused exactly as `connect` refuses it.
   */
  async heldElsewhere(
    ownerUserId: string,
    agentId: string,
    reader: string,
  ): Promise<{ holder: string; serial: string } | null> {
    if (this.deps.hub.isConnected(agentId) || !this.deps.remote) return null;
    const p = await getPresence(this.deps.db, agentId);
    if (!p || !visibleTo(p, ownerUserId)) throw new NotFoundError('connected agent', agentId);
    const r = p.readers.find((x) => x.name === reader);
    return r?.cardPresent && r.serial ? { holder: p.instanceId, serial: r.serial } : null;
  }

  /** Which live server holds the agent's socket: this one's id when here, null when none. */
  async holderOf(agentId: string): Promise<string | null> {
    if (this.deps.hub.isConnected(agentId)) return this.deps.instanceId;
    return (await getPresence(this.deps.db, agentId))?.instanceId ?? null;
  }

  async connect(
    ownerUserId: string,
    agentId: string,
    reader: string,
    opts?: TransmitOptions,
  ): Promise<CardConnection> {
    if (this.deps.hub.isConnected(agentId) || !this.deps.remote)
      return this.deps.hub.connect(ownerUserId, agentId, reader, opts);
    const p = await getPresence(this.deps.db, agentId);
    // Another person's agent is reported exactly like an absent one (as the hub does).
    if (!p || !visibleTo(p, ownerUserId)) throw new NotFoundError('connected agent', agentId);
    return this.deps.remote.connect(p.instanceId, ownerUserId, agentId, reader, opts);
  }

  /** Prints on a printer of one of the person's agents, through the server holding it. */
  async print(
    ownerUserId: string,
    agentId: string,
    printer: string,
    pdf: Buffer,
    opts: PrintJobOptions,
  ): Promise<PrintOutcome> {
    if (this.deps.hub.isConnected(agentId) || !this.deps.remote)
      return this.deps.hub.print(ownerUserId, agentId, printer, pdf, opts);
    const p = await getPresence(this.deps.db, agentId);
    // Printers are the owner's alone (as the hub has it); another's agent is reported as absent.
    if (!p || p.ownerUserId !== ownerUserId) throw new NotFoundError('connected agent', agentId);
    return this.deps.remote.print(p.instanceId, ownerUserId, agentId, printer, pdf, opts);
  }

  watch(ownerUserId: string, listener: (e: OwnerEvent) => void): () => void {
    const local = this.deps.hub.watch(ownerUserId, listener);
    const remote = this.deps.bus.subscribe('reader', (payload, fromHere) => {
      if (fromHere) return; // the hub told this server's watchers already
      const w = JSON.parse(payload) as ReaderWord;
      if (!visibleTo(w, ownerUserId)) return;
      const e: ReaderEvent =
        w.type === 'card-inserted'
          ? { type: 'card-inserted', reader: w.reader, atr: Uint8Array.from(Buffer.from(w.atr ?? '', 'hex')) }
          : { type: w.type, reader: w.reader };
      listener({ agentId: w.agentId, ...e });
    });
    return () => {
      local();
      remote();
    };
  }

  close(): void {
    for (const s of this.#stops) s();
  }
}
