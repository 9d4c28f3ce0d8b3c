// The built-in demo agent of `tessera start`: virtual readers holding blank emulated PIV cards,
// served by the REAL agent client over a loopback WebSocket to this server, so a newcomer can issue
// a card in the browser at once and every byte takes the same path as with a workstation agent.
// Its cards keep their state in <dataDir>/demo-cards/<serial>.json: an issued demo card stays issued
// across restarts. Their serials (Yubico GET SERIAL, decimal) are the demo inventory's serials.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../agent/agent-client.js';
import { FileCardStorage } from '../cards/emulator/card-state.js';
import { VirtualPivCard } from '../cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../cards/transport/memory.js';
import type { Db } from '../store/db.js';
import { getUserByUsername, searchUsers } from '../store/users-repo.js';
import { DEMO_DEVICE_SERIALS } from './bootstrap-service.js';
import type { PairingService } from './pairing-service.js';

export const DEMO_READERS_PER_AGENT = 3;
export const DEMO_ISSUER_USERNAME = 'ivan.issuer';

export interface DemoAgent {
  ownerUserId: string;
  ownerUsername: string;
  agentId: string;
  /** The virtual readers: tests take cards out and put them back (failure injection). */
  readers: MemoryReaderSet;
  /** Reader name → the card's serial, as first inserted. */
  cards: { reader: string; serial: string }[];
  client: AgentClient;
}

export interface DemoAgents {
  agents: DemoAgent[];
  /** The demo agent of a person, by username. */
  of(username: string): DemoAgent | undefined;
  stop(): Promise<void>;
}

export const demoReaderName = (i: number): string => `Tessera Virtual Reader ${i + 1}`;

/** Loads (or creates blank) the emulated card with this serial, persisted under `dir`. */
export function demoCard(dir: string, serial: string): VirtualPivCard {
  const storage = new FileCardStorage(join(dir, `${serial}.json`));
  return new VirtualPivCard(storage.loadOrCreate({ serial: Number(serial) }).state, { storage });
}

/**
 * Starts a demo agent for the first administrator (and one for the demo issuance officer, when
 * the demo organisation exists), paired directly in the database, and waits until they are online.
 */
export async function startDemoAgents(deps: {
  db: Db;
  pairing: PairingService;
  dataDir: string;
  /** Where this server listens, as the agent reaches it (http://127.0.0.1:PORT). */
  serverUrl: string;
  log?: (line: string) => void;
}): Promise<DemoAgents> {
  const owners: { id: string; username: string }[] = [];
  const admins = await searchUsers(deps.db, { role: 'admin', state: 'active', limit: 1, offset: 0 });
  const admin = admins.items[0];
  if (admin) owners.push({ id: admin.id, username: admin.username });
  const ivan = await getUserByUsername(deps.db, DEMO_ISSUER_USERNAME);
  if (ivan && ivan.state === 'active' && ivan.id !== admin?.id)
    owners.push({ id: ivan.id, username: ivan.username });

  const cardDir = join(deps.dataDir, 'demo-cards');
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
      const client = new AgentClient({
        server: deps.serverUrl,
        token,
        readers,
        hostname: 'tessera-demo',
        backoff: { initialMs: 200, maxMs: 5_000 },
        log: deps.log ? (l) => deps.log!(`demo agent (${owner.username}): ${l}`) : undefined,
      });
      client.start();
      agents.push({ ownerUserId: owner.id, ownerUsername: owner.username, agentId, readers, cards, client });
    }
    await Promise.all(agents.map((a) => a.client.waitConnected(15_000)));
  } catch (e) {
    await Promise.all(agents.map((a) => a.client.stop()));
    throw e;
  }
  return {
    agents,
    of: (username) => agents.find((a) => a.ownerUsername === username),
    async stop() {
      await Promise.all(agents.map((a) => a.client.stop()));
      await Promise.all(agents.map((a) => a.readers.close()));
    },
  };
}
