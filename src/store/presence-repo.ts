// Where each connected agent's socket is held, and what it reports (migration 059): written by the
// holding server, read by the others. Only rows of instances holding a lease count.
import type { Queryable } from './db.js';
import type { AgentOwnerKind } from './agents-repo.js';

export interface PresenceReader {
  name: string;
  cardPresent: boolean;
  atr: string | null;
  /** The present card's serial as its agent read it; null or absent (an older server's row): not known. */
  serial?: string | null;
}

export interface AgentPresence {
  agentId: string;
  instanceId: string;
  agentName: string;
  ownerUserId: string;
  ownerKind: AgentOwnerKind;
  operatorUserId: string | null;
  readers: PresenceReader[];
  /** As the agent reported them (cards/transport/agent-protocol.ts PrinterInfo). */
  printers: unknown[];
}

type PresenceRow = {
  agent_id: string;
  instance_id: string;
  name: string;
  owner_user_id: string;
  owner_kind: AgentOwnerKind;
  operator_user_id: string | null;
  readers: PresenceReader[];
  /** As the agent reported them (cards/transport/agent-protocol.ts PrinterInfo). */
  printers: unknown[];
};

const toPresence = (r: PresenceRow): AgentPresence => ({
  agentId: r.agent_id,
  instanceId: r.instance_id,
  agentName: r.name,
  ownerUserId: r.owner_user_id,
  ownerKind: r.owner_kind,
  operatorUserId: r.operator_user_id,
  readers: r.readers,
  printers: r.printers,
});

export async function putPresence(
  db: Queryable,
  p: { agentId: string; instanceId: string; readers: PresenceReader[]; printers: unknown[] },
): Promise<void> {
  await db.query(
    `INSERT INTO agent_presence (agent_id, instance_id, readers, printers, updated_at)
     VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (agent_id) DO UPDATE SET instance_id = EXCLUDED.instance_id, readers = EXCLUDED.readers,
       printers = EXCLUDED.printers, updated_at = now()`,
    [p.agentId, p.instanceId, JSON.stringify(p.readers), JSON.stringify(p.printers)],
  );
}

/** The agent left this instance; a newer connection held elsewhere keeps its row. */
export async function deletePresence(db: Queryable, agentId: string, instanceId: string): Promise<void> {
  await db.query('DELETE FROM agent_presence WHERE agent_id = $1 AND instance_id = $2', [
    agentId,
    instanceId,
  ]);
}

const LIVE = `FROM agent_presence p JOIN agents a ON a.id = p.agent_id AND a.revoked_at IS NULL
  JOIN server_instances i ON i.id = p.instance_id AND i.stopped_at IS NULL AND i.lease_until > now()`;
const COLUMNS = `p.agent_id, p.instance_id, a.name, a.owner_user_id, a.owner_kind, a.operator_user_id, p.readers, p.printers`;

/** Agents held by live instances other than `except`. */
export async function listRemotePresence(db: Queryable, except: string): Promise<AgentPresence[]> {
  const rows = await db.query<PresenceRow>(
    `SELECT ${COLUMNS} ${LIVE} WHERE p.instance_id <> $1 ORDER BY p.agent_id`,
    [except],
  );
  return rows.map(toPresence);
}

/** Where an agent is held now (a live instance), or null. */
export async function getPresence(db: Queryable, agentId: string): Promise<AgentPresence | null> {
  const rows = await db.query<PresenceRow>(`SELECT ${COLUMNS} ${LIVE} WHERE p.agent_id = $1`, [agentId]);
  return rows[0] ? toPresence(rows[0]) : null;
}
