// Pairings of a phone's wallet with a workstation agent (docs/mobile.md "Use at a workstation").
import type { Queryable } from './db.js';

export type PairingState = 'pending' | 'active' | 'refused' | 'revoked';
export type PairingEnd = 'phone' | 'workstation' | 'server';

export interface WalletPairing {
  id: string;
  walletAgentId: string;
  workstationAgentId: string;
  ownerUserId: string;
  state: PairingState;
  code: string;
  createdAt: Date;
  expiresAt: Date;
  endedBy: PairingEnd | null;
}

type Row = {
  id: string;
  wallet_agent_id: string;
  workstation_agent_id: string;
  owner_user_id: string;
  state: PairingState;
  code: string;
  created_at: Date;
  expires_at: Date;
  ended_by: PairingEnd | null;
};

const COLUMNS =
  'id, wallet_agent_id, workstation_agent_id, owner_user_id, state, code, created_at, expires_at, ended_by';

const toPairing = (r: Row): WalletPairing => ({
  id: r.id,
  walletAgentId: r.wallet_agent_id,
  workstationAgentId: r.workstation_agent_id,
  ownerUserId: r.owner_user_id,
  state: r.state,
  code: r.code,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
  endedBy: r.ended_by,
});

export async function insertPairing(
  tx: Queryable,
  p: {
    walletAgentId: string;
    workstationAgentId: string;
    ownerUserId: string;
    code: string;
    at: Date;
    expiresAt: Date;
  },
): Promise<WalletPairing> {
  const [r] = await tx.query<Row>(
    `INSERT INTO wallet_pairings (wallet_agent_id, workstation_agent_id, owner_user_id, state, code, created_at, expires_at)
     VALUES ($1, $2, $3, 'pending', $4, $5, $6) RETURNING ${COLUMNS}`,
    [p.walletAgentId, p.workstationAgentId, p.ownerUserId, p.code, p.at, p.expiresAt],
  );
  return toPairing(r!);
}

export async function getPairing(db: Queryable, id: string, lock = false): Promise<WalletPairing | null> {
  const [r] = await db.query<Row>(
    `SELECT ${COLUMNS} FROM wallet_pairings WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return r ? toPairing(r) : null;
}

/** Decides a pending pairing, or ends a pending or active one. */
export async function setPairingState(
  tx: Queryable,
  id: string,
  state: PairingState,
  at: Date,
  endedBy?: PairingEnd,
): Promise<WalletPairing> {
  const [r] = await tx.query<Row>(
    `UPDATE wallet_pairings SET state = $2,
       decided_at = CASE WHEN $2 IN ('active', 'refused') THEN $3 ELSE decided_at END,
       ended_at = CASE WHEN $2 = 'revoked' THEN $3 ELSE ended_at END,
       ended_by = COALESCE($4, ended_by)
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, state, at, endedBy ?? null],
  );
  return toPairing(r!);
}

/** A wallet's pairings still pending (not expired) or active, oldest first. */
export async function openPairingsOfWallet(
  db: Queryable,
  walletAgentId: string,
  now: Date,
): Promise<WalletPairing[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM wallet_pairings
     WHERE wallet_agent_id = $1 AND (state = 'active' OR (state = 'pending' AND expires_at > $2))
     ORDER BY created_at, id`,
    [walletAgentId, now],
  );
  return rows.map(toPairing);
}

/** The pending or active pairings an agent takes part in, on either side (to end at its revocation). */
export async function openPairingsOfAgent(db: Queryable, agentId: string): Promise<WalletPairing[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM wallet_pairings
     WHERE (wallet_agent_id = $1 OR workstation_agent_id = $1) AND state IN ('pending', 'active')
     ORDER BY created_at, id`,
    [agentId],
  );
  return rows.map(toPairing);
}
