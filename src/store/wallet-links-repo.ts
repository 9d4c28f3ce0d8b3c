// One-time wallet link codes (docs/mobile.md): the public id finds the row, the secret's SHA-256 is
// compared; wrong secrets are counted on the row so a code dies after a few.
import type { Queryable } from './db.js';

export type WalletLinkPurpose = 'self_issuance' | 'operator_issuance' | 'remote_issuance' | 'mobile_id';

export interface WalletLinkRecord {
  id: string;
  secretHash: string;
  personUserId: string;
  purpose: WalletLinkPurpose;
  requestedBy: string;
  expiresAt: Date;
  usedAt: Date | null;
  failedAttempts: number;
  /** The replacement request a remote-issuance link enrolls (null for the others). */
  requestId: string | null;
}

type Row = {
  id: string;
  secret_hash: string;
  person_user_id: string;
  purpose: WalletLinkPurpose;
  requested_by: string;
  expires_at: Date;
  used_at: Date | null;
  failed_attempts: number;
  request_id: string | null;
};

export async function insertWalletLink(
  tx: Queryable,
  l: Omit<WalletLinkRecord, 'usedAt' | 'failedAttempts' | 'requestId'> & { at: Date; requestId?: string },
): Promise<void> {
  await tx.query(
    `INSERT INTO wallet_link_codes (id, secret_hash, person_user_id, purpose, requested_by, created_at, expires_at, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [l.id, l.secretHash, l.personUserId, l.purpose, l.requestedBy, l.at, l.expiresAt, l.requestId ?? null],
  );
}

export async function lockWalletLink(tx: Queryable, id: string): Promise<WalletLinkRecord | null> {
  const [r] = await tx.query<Row>(
    `SELECT id, secret_hash, person_user_id, purpose, requested_by, expires_at, used_at, failed_attempts, request_id
     FROM wallet_link_codes WHERE id = $1 FOR UPDATE`,
    [id],
  );
  if (!r) return null;
  return {
    id: r.id,
    secretHash: r.secret_hash,
    personUserId: r.person_user_id,
    purpose: r.purpose,
    requestedBy: r.requested_by,
    expiresAt: new Date(r.expires_at),
    usedAt: r.used_at ? new Date(r.used_at) : null,
    failedAttempts: r.failed_attempts,
    requestId: r.request_id,
  };
}

export async function countWalletLinkFailure(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE wallet_link_codes SET failed_attempts = failed_attempts + 1 WHERE id = $1', [id]);
}

export async function markWalletLinkUsed(
  tx: Queryable,
  id: string,
  agentId: string,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE wallet_link_codes SET used_at = $2, agent_id = $3 WHERE id = $1', [id, at, agentId]);
}

/** A new link for a request replaces the earlier ones not used yet: they expire now. */
export async function expireOpenLinksOfRequest(tx: Queryable, requestId: string, at: Date): Promise<number> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE wallet_link_codes SET expires_at = $2
     WHERE request_id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id`,
    [requestId, at],
  );
  return rows.length;
}

/**
 * The requests whose remote-issuance links this wallet redeemed, newest first: what it may enrol
 * (the caller checks that each is still open).
 */
export async function remoteRequestsOfWallet(db: Queryable, agentId: string): Promise<string[]> {
  const rows = await db.query<{ request_id: string }>(
    `SELECT request_id FROM wallet_link_codes
     WHERE agent_id = $1 AND purpose = 'remote_issuance' AND request_id IS NOT NULL
     ORDER BY used_at DESC, id`,
    [agentId],
  );
  return rows.map((r) => r.request_id);
}

/** The serial of the card this wallet held when it last linked or connected (null: not recorded). */
export async function getWalletCardSerial(db: Queryable, agentId: string): Promise<string | null> {
  const [r] = await db.query<{ serial: string }>('SELECT serial FROM wallet_cards WHERE agent_id = $1', [
    agentId,
  ]);
  return r?.serial ?? null;
}

export async function setWalletCardSerial(
  tx: Queryable,
  agentId: string,
  serial: string,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO wallet_cards (agent_id, serial, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (agent_id) DO UPDATE SET serial = EXCLUDED.serial, updated_at = EXCLUDED.updated_at`,
    [agentId, serial, at],
  );
}

/** Voids a code not yet used (a cancelled mobile ID order): it expires now. */
export async function voidWalletLink(tx: Queryable, id: string, at: Date): Promise<void> {
  await tx.query(
    'UPDATE wallet_link_codes SET expires_at = LEAST(expires_at, $2) WHERE id = $1 AND used_at IS NULL',
    [id, at],
  );
}

/**
 * Ends the links of the wallets holding the card `serial` (its device was terminated): their tokens
 * stop working. Returns the wallets' ids.
 */
export async function revokeWalletsHolding(tx: Queryable, serial: string, at: Date): Promise<string[]> {
  const rows = await tx.query<{ id: string }>(
    `UPDATE agents SET revoked_at = $2
     WHERE owner_kind = 'wallet' AND revoked_at IS NULL
       AND id IN (SELECT agent_id FROM wallet_cards WHERE serial = $1)
     RETURNING id`,
    [serial, at],
  );
  return rows.map((r) => r.id);
}
