// The built-in demo agent of `tessera start`: virtual readers holding blank emulated PIV cards,
// served by the REAL agent client over a loopback WebSocket to this server, so a newcomer can issue
// a card in the browser at once and every byte takes the same path as with a workstation agent.
// The agent client itself is handed in (ConnectAgent): services import no agent/, and the
// composition root wires agent/loopback-agent.ts here.
// Its cards keep their state in <dataDir>/demo-cards/<serial>.json: an issued demo card stays issued
// across restarts. Their serials (Yubico GET SERIAL, decimal) are the demo inventory's serials.
//
// The user portal's self-issuance needs the bound card in a reader of an agent paired to THAT
// person, while the demo cards sit in the administrator's readers. The hand-over (handOver) plays
// the help desk giving a person their card: it starts a demo agent paired to the person and moves
// their cards into its readers, out of whichever demo reader held them (a card is in one reader at
// a time, as a real one). The person's reader takes the name of the reader the card came from
// ("Tessera Virtual Reader 2" stays "Tessera Virtual Reader 2"), so the portal shows the card where
// the help desk put it, not in a "Reader 1" the help desk never used. Where a card sits is not kept: after a restart the cards are back in the
// administrator's and the issuance officer's readers, and the person takes theirs again.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DomainError, ExternalError, ValidationError } from '../domain/errors.js';
import type { DeviceState } from '../domain/device.js';
import { FileCardStorage } from '../cards/emulator/file-storage.js';
import { VirtualPivCard } from '../cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../cards/transport/memory.js';
import type { ReaderSet } from '../cards/transport/types.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Db } from '../store/db.js';
import { getDeviceBySerial, listUserDevices } from '../store/devices-repo.js';
import { getUser, getUserByUsername, searchUsers } from '../store/users-repo.js';
import { DEMO_DEVICE_SERIALS } from './bootstrap-service.js';
import type { CardAccess } from './card-access.js';
import { auditActor, systemClock, type Actor, type Clock } from './context.js';
import type { PairingService } from './pairing-service.js';

export const DEMO_READERS_PER_AGENT = 3;
export const DEMO_ISSUER_USERNAME = 'ivan.issuer';

/** A running agent connection: what the demo agents need of the agent client. */
export interface AgentLink {
  start(): void;
  waitConnected(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The demo's virtual card printer (reference 002): its encoder is one of the agent's virtual
 * readers; each job is written as a PDF in `folder`; `onPrinted` runs once a job is written.
 */
export interface DemoPrinter {
  name: string;
  encoder: string;
  folder: string;
  onPrinted(file: string): Promise<void>;
}

/** Connects readers to this server as an agent holding `token` (the agent client, over a loopback socket). */
export type ConnectAgent = (agent: {
  ownerUsername: string;
  token: string;
  readers: ReaderSet;
  printer?: DemoPrinter;
}) => AgentLink;

export const DEMO_PRINTER_NAME = 'Tessera Virtual Card Printer';
/** Where the demo printer writes its jobs, under the data directory. */
export const DEMO_PRINTER_FOLDER = 'printed-cards';

export interface DemoAgent {
  ownerUserId: string;
  ownerUsername: string;
  agentId: string;
  /** The virtual readers: tests take cards out and put them back (failure injection). */
  readers: MemoryReaderSet;
  /** Reader name → the card's serial, as first inserted. */
  cards: { reader: string; serial: string }[];
  /** The virtual card printer (the built-in agents have one; a person's portal agent has none). */
  printer: { name: string; encoder: string; folder: string } | null;
  link: AgentLink;
}

export const demoReaderName = (i: number): string => `Tessera Virtual Reader ${i + 1}`;

const agentName = (agent: { ownerUsername: string }): string => `Demo agent (${agent.ownerUsername})`;

/** Loads (or creates blank) the emulated card with this serial, persisted under `dir`. */
export function demoCard(dir: string, serial: string): VirtualPivCard {
  const storage = new FileCardStorage(join(dir, `${serial}.json`));
  return new VirtualPivCard(storage.loadOrCreate({ serial: Number(serial) }).state, { storage });
}

/** The demo agents of one server: the built-in ones, and those started for people in the portal. */
export interface DemoAgents {
  agents: DemoAgent[];
  /** Where the virtual card printers write their jobs (null when none runs). */
  printerFolder: string | null;
  /** The demo agent of a person, by username. */
  of(username: string): DemoAgent | undefined;
  /** What the user portal shows: my demo agent, and where my demo cards are. */
  view(userId: string): Promise<DemoReaderView>;
  /**
   * Hands a person in the portal their cards: starts (or reuses) their demo agent and moves every
   * demo card of theirs into its readers. Idempotent: a second call moves nothing.
   */
  handOver(actor: Actor): Promise<DemoHandover>;
  stop(): Promise<void>;
}

export interface DemoReaderView {
  /** Whether this server runs the demo agents (`tessera start`). */
  available: boolean;
  /** My demo agent, once started by a hand-over (or the built-in one, for its owner). */
  agent: { id: string; name: string; readers: { reader: string; serial: string | null }[] } | null;
  /** My demo cards (bound or issued to me) that sit in a demo reader, whether in mine, and which. */
  cards: {
    serial: string;
    deviceId: string;
    state: DeviceState;
    inMyReader: boolean;
    /** The reader it sits in, and whose demo agent that is. */
    reader: string;
    agentName: string;
  }[];
}

export interface DemoHandover extends DemoReaderView {
  /** The serials moved into my readers by this call (empty when they were there already). */
  moved: string[];
}

/** The demo agents are not running here (`tessera serve`, or they failed to start or stopped). */
export class DemoUnavailableError extends DomainError {
  constructor() {
    super(
      'demo_unavailable',
      'This server does not run the built-in demo agents (only `tessera start` does): pair an agent on a ' +
        'computer with a card reader instead (Agents → pairing code, then `tessera agent --server URL --pair CODE`)',
    );
  }
}

/** None of the person's cards is in a demo reader, so there is nothing to hand over. */
export class NoDemoCardError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('no_demo_card', message, details);
  }
}

/** Devices a person holds whose card they may take: bound to them, or issued (even if it failed). */
const HANDED_OVER_STATES: ReadonlySet<DeviceState> = new Set<DeviceState>([
  'bound',
  'pending',
  'active',
  'failed',
]);

/** How long the server may take to see a moved card through the agents' sockets. */
const SEEN_TIMEOUT_MS = 10_000;

export interface DemoAgentDeps {
  db: Db;
  pairing: PairingService;
  dataDir: string;
  /** The agent client, connected to this server. */
  connect: ConnectAgent;
  log?: (line: string) => void;
  clock?: Clock;
  /**
   * The server's view of the agents' readers: a hand-over returns once the server sees the moved
   * cards where they now are, so the portal's next card list shows them.
   */
  cardAccess?: CardAccess;
}

/**
 * Starts a demo agent for the first administrator (and one for the demo issuance officer, when
 * the demo organisation exists), paired directly in the database, and waits until they are online.
 */
export async function startDemoAgents(deps: DemoAgentDeps): Promise<DemoAgents> {
  const owners: { id: string; username: string }[] = [];
  const admins = await searchUsers(deps.db, { role: 'admin', state: 'active', limit: 1, offset: 0 });
  const admin = admins.items[0];
  if (admin) owners.push({ id: admin.id, username: admin.username });
  const ivan = await getUserByUsername(deps.db, DEMO_ISSUER_USERNAME);
  if (ivan && ivan.state === 'active' && ivan.id !== admin?.id)
    owners.push({ id: ivan.id, username: ivan.username });

  const cardDir = join(deps.dataDir, 'demo-cards');
  const printerFolder = join(deps.dataDir, DEMO_PRINTER_FOLDER);
  const agents: DemoAgent[] = [];
  try {
    for (const [k, owner] of owners.entries()) {
      const name = `Demo agent (${owner.username})`;
      const paired = await deps.pairing.pairDemo(owner.id, name, hostname());
      if (!paired) {
        deps.log?.(`The demo agent of ${owner.username} was revoked: not starting it`);
        continue;
      }
      const { agentId, token } = paired;
      const readers = new MemoryReaderSet();
      const cards: DemoAgent['cards'] = [];
      for (let i = 0; i < DEMO_READERS_PER_AGENT; i++) {
        const serial = DEMO_DEVICE_SERIALS[k * DEMO_READERS_PER_AGENT + i];
        const reader = demoReaderName(i);
        readers.addReader(reader);
        if (!serial) continue;
        readers.insert(reader, demoCard(cardDir, serial));
        cards.push({ reader, serial });
      }
      // The virtual card printer: its encoder is the first reader. A card it printed leaves it
      // (the operator takes it), and the next blank card is fed from its hopper.
      const encoder = demoReaderName(0);
      const hopper = new CardHopper(deps.db, cardDir, 10_001_000 + k * 1000);
      const feed = async () => {
        readers.remove(encoder);
        readers.insert(encoder, await hopper.next(readers));
      };
      if (!(await hopper.isBlank(readers.cardIn(encoder)))) await feed();
      const printer: DemoPrinter = {
        name: DEMO_PRINTER_NAME,
        encoder,
        folder: printerFolder,
        onPrinted: feed,
      };
      const link = deps.connect({ ownerUsername: owner.username, token, readers, printer });
      link.start();
      agents.push({
        ownerUserId: owner.id,
        ownerUsername: owner.username,
        agentId,
        readers,
        cards,
        printer: { name: printer.name, encoder, folder: printerFolder },
        link,
      });
    }
    await Promise.all(agents.map((a) => a.link.waitConnected(15_000)));
  } catch (e) {
    await Promise.all(agents.map((a) => a.link.stop()));
    throw e;
  }
  return new DemoAgentSet(deps, agents, agents.length ? printerFolder : null);
}

/**
 * The blank cards the demo printer feeds, with serials from `base + 1` up: the first whose card is
 * blank (never issued, or recycled back to inventory) and in no reader.
 */
class CardHopper {
  constructor(
    private readonly db: Db,
    private readonly dir: string,
    private readonly base: number,
  ) {}

  /** Whether a card is blank: in no one's hands (unknown to Tessera, in inventory or bound). */
  async isBlank(card: VirtualPivCard | undefined): Promise<boolean> {
    if (!card) return false;
    const d = await getDeviceBySerial(this.db, String(card.serial));
    return !d || d.state === 'inventory' || d.state === 'bound';
  }

  async next(readers: MemoryReaderSet): Promise<VirtualPivCard> {
    const inReaders = new Set<string>();
    for (const r of await readers.list()) {
      const c = readers.cardIn(r.name);
      if (c) inReaders.add(String(c.serial));
    }
    for (let n = 1; n < 1000; n++) {
      const serial = String(this.base + n);
      if (inReaders.has(serial)) continue;
      const d = await getDeviceBySerial(this.db, serial);
      if (!d || d.state === 'inventory') return demoCard(this.dir, serial);
    }
    throw new ValidationError('The demo printer has no blank card left: recycle some demo cards');
  }
}

class DemoAgentSet implements DemoAgents {
  private stopped = false;
  /** Hand-overs run one at a time: two at once must not start two agents for one person. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly clock: Clock;

  constructor(
    private readonly deps: DemoAgentDeps,
    readonly agents: DemoAgent[],
    readonly printerFolder: string | null,
  ) {
    this.clock = deps.clock ?? systemClock;
  }

  of(username: string): DemoAgent | undefined {
    return this.agents.find((a) => a.ownerUsername === username);
  }

  /** Where each card sits: every card in every demo reader, by serial. */
  private async locate(): Promise<Map<string, { agent: DemoAgent; reader: string }>> {
    const at = new Map<string, { agent: DemoAgent; reader: string }>();
    for (const agent of this.agents)
      for (const r of await agent.readers.list()) {
        const card = r.cardPresent ? agent.readers.cardIn(r.name) : undefined;
        if (card) at.set(String(card.serial), { agent, reader: r.name });
      }
    return at;
  }

  private async agentView(agent: DemoAgent): Promise<NonNullable<DemoReaderView['agent']>> {
    const readers = (await agent.readers.list()).map((r) => {
      const card = r.cardPresent ? agent.readers.cardIn(r.name) : undefined;
      return { reader: r.name, serial: card ? String(card.serial) : null };
    });
    return { id: agent.agentId, name: agentName(agent), readers };
  }

  async view(userId: string): Promise<DemoReaderView> {
    if (this.stopped) return { available: false, agent: null, cards: [] };
    const mine = this.agents.find((a) => a.ownerUserId === userId);
    const where = await this.locate();
    const cards: DemoReaderView['cards'] = [];
    for (const d of await listUserDevices(this.deps.db, userId)) {
      const at = HANDED_OVER_STATES.has(d.state) ? where.get(d.serial) : undefined;
      if (at)
        cards.push({
          serial: d.serial,
          deviceId: d.id,
          state: d.state,
          inMyReader: at.agent === mine,
          reader: at.reader,
          agentName: agentName(at.agent),
        });
    }
    cards.sort((a, b) => a.serial.localeCompare(b.serial, 'en')); // fixed locale: same order on every machine
    return { available: true, agent: mine ? await this.agentView(mine) : null, cards };
  }

  handOver(actor: Actor): Promise<DemoHandover> {
    const run = this.queue.then(() => this.doHandOver(actor));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doHandOver(actor: Actor): Promise<DemoHandover> {
    if (this.stopped) throw new DemoUnavailableError();
    const user = actor.id ? await getUser(this.deps.db, actor.id) : null;
    if (!user || user.state !== 'active')
      throw new ValidationError('Only an active person can take a card to a demo reader');
    const before = await this.view(user.id);
    if (before.cards.length === 0) {
      const held = (await listUserDevices(this.deps.db, user.id)).filter((d) =>
        HANDED_OVER_STATES.has(d.state),
      );
      throw new NoDemoCardError(
        held.length === 0
          ? 'No card is bound to you yet: ask your help desk to bind a demo card to you ' +
              '(operator portal: your user page → Add Device → Bind Device), then try again'
          : `The card(s) bound to you (${held.map((d) => d.serial).join(', ')}) are not in any demo reader on ` +
              'this server: use a reader of your own (Agents → pairing code, then `tessera agent --server URL --pair CODE`)',
        { serials: held.map((d) => d.serial) },
      );
    }
    const agent = this.agents.find((a) => a.ownerUserId === user.id) ?? (await this.startFor(user));
    const where = await this.locate();
    const moved: { serial: string; fromAgentId: string; fromReader: string; toReader: string }[] = [];
    for (const c of before.cards) {
      const from = where.get(c.serial);
      if (!from || from.agent === agent) continue;
      const card = from.agent.readers.remove(from.reader);
      if (!card) continue;
      const toReader = await this.readerFor(agent, from);
      agent.readers.insert(toReader, card);
      moved.push({ serial: c.serial, fromAgentId: from.agent.agentId, fromReader: from.reader, toReader });
    }
    if (moved.length > 0) {
      const at = this.clock.now();
      await this.deps.db.transaction((tx) =>
        appendAudit(tx, {
          actor: auditActor(actor),
          action: 'demo.cards_handed_over',
          targetType: 'user',
          targetId: user.id,
          details: { agentId: agent.agentId, cards: moved },
          correlationId: actor.correlationId ?? null,
          at,
        }),
      );
      this.deps.log?.(`Handed ${moved.map((m) => m.serial).join(', ')} to ${user.username}'s demo agent`);
    }
    for (const m of moved) {
      await this.seen(
        this.agents.find((a) => a.agentId === m.fromAgentId)!,
        m.fromReader,
        false,
      );
      await this.seen(agent, m.toReader, true);
    }
    return { ...(await this.view(user.id)), moved: moved.map((m) => m.serial) };
  }

  /**
   * Starts the demo agent of a person (paired as a portal agent), with no reader yet: each card
   * handed over gets a reader named as the one it came from (readerFor).
   */
  private async startFor(user: { id: string; username: string }): Promise<DemoAgent> {
    const paired = await this.deps.pairing.pairDemo(
      user.id,
      `Demo agent (${user.username})`,
      hostname(),
      'portal',
    );
    if (!paired)
      throw new NoDemoCardError(
        'Your demo agent was revoked, so no card can be handed to it: use a reader of your own ' +
          '(Agents → pairing code, then `tessera agent --server URL --pair CODE`)',
      );
    const readers = new MemoryReaderSet();
    const link = this.deps.connect({ ownerUsername: user.username, token: paired.token, readers });
    const agent: DemoAgent = {
      ownerUserId: user.id,
      ownerUsername: user.username,
      agentId: paired.agentId,
      readers,
      cards: [],
      printer: null,
      link,
    };
    link.start();
    try {
      await link.waitConnected(15_000);
    } catch (e) {
      await link.stop();
      throw new ExternalError(
        'demo_agent_unreachable',
        `Your demo agent could not connect to this server: ${(e as Error).message}. Try again; if it persists, restart Tessera`,
        undefined,
        { cause: e },
      );
    }
    this.agents.push(agent);
    return agent;
  }

  /**
   * The reader of the person's agent a card goes into: the one named as the reader it came from
   * (added if missing), so the card shows where the help desk left it. Should that name hold
   * another card already (two help desks' "Reader 2"), the name says whose reader it came from.
   */
  private async readerFor(agent: DemoAgent, from: { agent: DemoAgent; reader: string }): Promise<string> {
    const list = await agent.readers.list();
    for (const name of [from.reader, `${from.reader} (from ${from.agent.ownerUsername})`]) {
      const r = list.find((x) => x.name === name);
      if (r && !r.cardPresent) return name;
      if (!r) {
        agent.readers.addReader(name);
        return name;
      }
    }
    // Both taken (the same card handed over, back and forth, many times): the next free number.
    let n = list.length;
    while (list.some((x) => x.name === demoReaderName(n))) n++;
    agent.readers.addReader(demoReaderName(n));
    return demoReaderName(n);
  }

  /** Waits until the server sees the reader with (or without) a card, through the agent's socket. */
  private async seen(agent: DemoAgent, reader: string, present: boolean): Promise<void> {
    const access = this.deps.cardAccess;
    if (!access) return;
    const deadline = Date.now() + SEEN_TIMEOUT_MS;
    for (;;) {
      const r = (await access.listReaders(agent.ownerUserId)).find(
        (x) => x.agentId === agent.agentId && x.reader === reader,
      );
      // A reader the server does not list (its agent offline) holds no card the server could use.
      if (present ? r?.cardPresent === true : !r?.cardPresent) return;
      if (Date.now() > deadline)
        throw new ExternalError(
          'demo_agent_unreachable',
          `The server did not see the card ${present ? 'arrive in' : 'leave'} "${reader}" of ${agent.ownerUsername}'s demo agent: try again; if it persists, restart Tessera`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Let a hand-over under way finish first, so no agent it starts is left running.
    await this.queue;
    await Promise.all(this.agents.map((a) => a.link.stop()));
    await Promise.all(this.agents.map((a) => a.readers.close()));
  }
}
