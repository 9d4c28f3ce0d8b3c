// Paired workstation agents and their one-time pairing codes. Tokens and codes are stored only as
// SHA-256 hashes: a database dump lets nobody impersonate an agent or pair a new one.
import type { Queryable } from './db.js';
import { iso } from './sql.js';

/** 'wallet': a phone's wallet, one reader ("<person>'s phone"), owned by the person (docs/mobile.md). */
export type AgentOwnerKind = 'operator' | 'portal' | 'wallet';

export interface AgentRecord {
  id: string;
  ownerUserId: string;
  ownerKind: AgentOwnerKind;
  name: string;
  hostname: string;
  createdAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
  demo: boolean;
  /** A wallet an operator issues to from the User page: that operator may drive it too. */
  operatorUserId: string | null;
}

type AgentRow = {
  id: string;
  owner_user_id: string;
  owner_kind: AgentOwnerKind;
  name: string;
  hostname: string;
  created_at: Date;
  last_seen_at: Date | null;
  revoked_at: Date | null;
  demo: boolean;
  operator_user_id: string | null;
};

const toAgent = (r: AgentRow): AgentRecord => ({
  id: r.id,
  ownerUserId: r.owner_user_id,
  ownerKind: r.owner_kind,
  name: r.name,
  hostname: r.hostname,
  createdAt: iso(r.created_at)!,
  lastSeenAt: iso(r.last_seen_at),
  revokedAt: iso(r.revoked_at),
  demo: r.demo,
  operatorUserId: r.operator_user_id,
});

const COLUMNS =
  'id, owner_user_id, owner_kind, name, hostname, created_at, last_seen_at, revoked_at, demo, operator_user_id';

export async function insertAgent(
  tx: Queryable,
  a: {
    ownerUserId: string;
    ownerKind: AgentOwnerKind;
    name: string;
    hostname: string;
    tokenHash: string;
    demo?: boolean;
    operatorUserId?: string | null;
    at: Date;
  },
): Promise<AgentRecord> {
  const [row] = await tx.query<AgentRow>(
    `INSERT INTO agents (owner_user_id, owner_kind, name, hostname, token_hash, demo, created_at, operator_user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [
      a.ownerUserId,
      a.ownerKind,
      a.name,
      a.hostname,
      a.tokenHash,
      a.demo ?? false,
      a.at,
      a.operatorUserId ?? null,
    ],
  );
  return toAgent(row!);
}

export async function getAgent(db: Queryable, id: string): Promise<AgentRecord | null> {
  const [row] = await db.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE id = $1`, [id]);
  return row ? toAgent(row) : null;
}

/** The live (not revoked) agent holding this token hash. */
export async function getAgentByTokenHash(db: Queryable, tokenHash: string): Promise<AgentRecord | null> {
  const [row] = await db.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents WHERE token_hash = $1 AND revoked_at IS NULL`,
    [tokenHash],
  );
  return row ? toAgent(row) : null;
}

/** Agents of one person (or all, when ownerUserId is null), newest first; revoked ones optional. */
export async function listAgents(
  db: Queryable,
  opts: { ownerUserId: string | null; includeRevoked?: boolean },
): Promise<AgentRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.ownerUserId) {
    params.push(opts.ownerUserId);
    where.push(`owner_user_id = $${params.length}`);
  }
  if (!opts.includeRevoked) where.push('revoked_at IS NULL');
  const rows = await db.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at DESC, id`,
    params,
  );
  return rows.map(toAgent);
}

/** The demo agent of a person, revoked or not (the built-in demo agent reuses its row). */
export async function findDemoAgent(db: Queryable, ownerUserId: string): Promise<AgentRecord | null> {
  const [row] = await db.query<AgentRow>(
    `SELECT ${COLUMNS} FROM agents WHERE owner_user_id = $1 AND demo ORDER BY created_at LIMIT 1`,
    [ownerUserId],
  );
  return row ? toAgent(row) : null;
}

export async function setAgentToken(tx: Queryable, id: string, tokenHash: string): Promise<void> {
  await tx.query('UPDATE agents SET token_hash = $2 WHERE id = $1 AND revoked_at IS NULL', [id, tokenHash]);
}

/** A relinked wallet: a new token, and the operator allowed to drive it (or none). */
export async function relinkWallet(
  tx: Queryable,
  id: string,
  tokenHash: string,
  operatorUserId: string | null,
): Promise<AgentRecord | null> {
  const [row] = await tx.query<AgentRow>(
    `UPDATE agents SET token_hash = $2, operator_user_id = $3
     WHERE id = $1 AND revoked_at IS NULL AND owner_kind = 'wallet' RETURNING ${COLUMNS}`,
    [id, tokenHash, operatorUserId],
  );
  return row ? toAgent(row) : null;
}

export async function markAgentRevoked(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const rows = await tx.query(
    'UPDATE agents SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id, at],
  );
  return rows.length > 0;
}

export async function touchAgent(db: Queryable, id: string, at: Date, hostname?: string): Promise<void> {
  await db.query('UPDATE agents SET last_seen_at = $2, hostname = COALESCE($3, hostname) WHERE id = $1', [
    id,
    at,
    hostname ?? null,
  ]);
}

/**
 * The heartbeat of every agent connected to a server, in one statement: their last-seen time is
 * written, and the ids returned are those still live — an agent revoked (by any server) or deleted
 * is not touched and not returned, so the caller disconnects it.
 */
export async function touchLiveAgents(db: Queryable, ids: readonly string[], at: Date): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.query<{ id: string }>(
    `UPDATE agents a SET last_seen_at = $2 FROM unnest($1::uuid[]) AS v(id)
      WHERE a.id = v.id AND a.revoked_at IS NULL RETURNING a.id`,
    [ids, at],
  );
  return new Set(rows.map((r) => r.id));
}

export async function insertPairingCode(
  tx: Queryable,
  c: { codeHash: string; ownerUserId: string; ownerKind: AgentOwnerKind; expiresAt: Date; at: Date },
): Promise<void> {
  await tx.query(
    `INSERT INTO agent_pairing_codes (code_hash, owner_user_id, owner_kind, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [c.codeHash, c.ownerUserId, c.ownerKind, c.expiresAt, c.at],
  );
}

export interface PairingCodeRecord {
  ownerUserId: string;
  ownerKind: AgentOwnerKind;
  expiresAt: Date;
  usedAt: Date | null;
}

/** Locks the code's row for the pairing transaction, so two agents cannot both use one code. */
export async function lockPairingCode(tx: Queryable, codeHash: string): Promise<PairingCodeRecord | null> {
  const [row] = await tx.query<{
    owner_user_id: string;
    owner_kind: AgentOwnerKind;
    expires_at: Date;
    used_at: Date | null;
  }>(
    `SELECT owner_user_id, owner_kind, expires_at, used_at FROM agent_pairing_codes
     WHERE code_hash = $1 FOR UPDATE`,
    [codeHash],
  );
  return row
    ? {
        ownerUserId: row.owner_user_id,
        ownerKind: row.owner_kind,
        expiresAt: new Date(row.expires_at),
        usedAt: row.used_at ? new Date(row.used_at) : null,
      }
    : null;
}

export async function markPairingCodeUsed(
  tx: Queryable,
  codeHash: string,
  agentId: string,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE agent_pairing_codes SET used_at = $2, agent_id = $3 WHERE code_hash = $1', [
    codeHash,
    at,
    agentId,
  ]);
}

/** Forgets codes that expired long ago (they can pair nothing). */
export async function deleteStalePairingCodes(db: Queryable, before: Date): Promise<number> {
  const rows = await db.query('DELETE FROM agent_pairing_codes WHERE expires_at < $1 RETURNING code_hash', [
    before,
  ]);
  return rows.length;
}
