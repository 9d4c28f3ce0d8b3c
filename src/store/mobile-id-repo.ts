// Mobile ID policies and people's mobile IDs (migration 058, reference 004).
import type {
  CardEndAction,
  MobileIdNotify,
  MobileIdPolicyInput,
  MobileIdProperty,
  MobileIdState,
  QrDelivery,
} from '../domain/mobile-id.js';
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface MobileIdPolicy extends MobileIdPolicyInput {
  requireCard: boolean;
  cardEnd: CardEndAction;
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

type PolicyRow = {
  id: string;
  name: string;
  description: string;
  device_policy_id: string;
  profiles: string[];
  qr_delivery: QrDelivery;
  validity_days: number;
  properties: MobileIdProperty[] | string;
  recover_key: boolean;
  notify: MobileIdNotify;
  require_card: boolean;
  card_end: CardEndAction;
  enabled: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
};

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

const toPolicy = (r: PolicyRow): MobileIdPolicy => ({
  id: r.id,
  name: r.name,
  description: r.description,
  devicePolicyId: r.device_policy_id,
  profiles: r.profiles,
  qrDelivery: r.qr_delivery,
  validityDays: r.validity_days,
  properties: json(r.properties),
  recoverKey: r.recover_key,
  notify: r.notify,
  requireCard: r.require_card,
  cardEnd: r.card_end,
  enabled: r.enabled,
  version: r.version,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

const POLICY_COLUMNS =
  'id, name, description, device_policy_id, profiles, qr_delivery, validity_days, properties, recover_key, notify, require_card, card_end, enabled, version, created_at, updated_at';

export async function insertMobileIdPolicy(
  tx: Queryable,
  p: MobileIdPolicyInput,
  at: Date,
): Promise<MobileIdPolicy> {
  const [row] = await tx.query<PolicyRow>(
    `INSERT INTO mobile_id_policies (name, description, device_policy_id, profiles, qr_delivery, validity_days, properties, recover_key, notify, enabled, created_at, updated_at, require_card, card_end)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13) RETURNING ${POLICY_COLUMNS}`,
    [
      p.name,
      p.description,
      p.devicePolicyId,
      p.profiles,
      p.qrDelivery,
      p.validityDays,
      JSON.stringify(p.properties),
      p.recoverKey,
      p.notify,
      p.enabled,
      at,
      p.requireCard ?? false,
      p.cardEnd ?? 'suspend',
    ],
  );
  return toPolicy(row!);
}

export async function updateMobileIdPolicy(
  tx: Queryable,
  id: string,
  p: MobileIdPolicyInput,
  at: Date,
): Promise<MobileIdPolicy | null> {
  const [row] = await tx.query<PolicyRow>(
    `UPDATE mobile_id_policies SET name = $2, description = $3, device_policy_id = $4, profiles = $5, qr_delivery = $6,
       validity_days = $7, properties = $8, recover_key = $9, notify = $10, enabled = $11, version = version + 1, updated_at = $12,
       require_card = $13, card_end = $14
     WHERE id = $1 RETURNING ${POLICY_COLUMNS}`,
    [
      id,
      p.name,
      p.description,
      p.devicePolicyId,
      p.profiles,
      p.qrDelivery,
      p.validityDays,
      JSON.stringify(p.properties),
      p.recoverKey,
      p.notify,
      p.enabled,
      at,
      p.requireCard ?? false,
      p.cardEnd ?? 'suspend',
    ],
  );
  return row ? toPolicy(row) : null;
}

export async function getMobileIdPolicy(db: Queryable, id: string): Promise<MobileIdPolicy | null> {
  const [row] = await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM mobile_id_policies WHERE id = $1`, [
    id,
  ]);
  return row ? toPolicy(row) : null;
}

export async function listMobileIdPolicies(db: Queryable): Promise<MobileIdPolicy[]> {
  const rows = await db.query<PolicyRow>(
    `SELECT ${POLICY_COLUMNS} FROM mobile_id_policies ORDER BY name, id`,
  );
  return rows.map(toPolicy);
}

/** Deletes a policy no mobile ID was ever ordered under; false when it is in use (or unknown). */
export async function deleteUnusedMobileIdPolicy(tx: Queryable, id: string): Promise<boolean> {
  const rows = await tx.query(
    `DELETE FROM mobile_id_policies WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM mobile_ids WHERE policy_id = $1) RETURNING id`,
    [id],
  );
  return rows.length > 0;
}

export async function countMobileIdsOfPolicy(db: Queryable, id: string): Promise<number> {
  const [r] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM mobile_ids WHERE policy_id = $1',
    [id],
  );
  return Number(r?.n ?? 0);
}

// ---- people's mobile IDs ------------------------------------------------------------------------

export interface MobileIdRecord {
  id: string;
  userId: string;
  policyId: string;
  state: MobileIdState;
  delivery: QrDelivery;
  linkId: string | null;
  linkExpiresAt: string;
  mailId: string | null;
  deviceId: string | null;
  jobId: string | null;
  properties: Record<string, string>;
  validUntil: string | null;
  error: string | null;
  /** The PIV card (device) a derived mobile ID follows (policy requireCard); null otherwise. */
  derivedFrom: string | null;
  /** Suspended because of its card, not by an operator: the card's return lifts it. */
  cardHold: CardHold | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Why a derived mobile ID is held: its card is suspended, or ended with none in its place. */
export type CardHold = 'card_suspended' | 'card_terminated';

type Row = {
  id: string;
  user_id: string;
  policy_id: string;
  state: MobileIdState;
  delivery: QrDelivery;
  link_id: string | null;
  link_expires_at: Date;
  mail_id: string | null;
  device_id: string | null;
  job_id: string | null;
  properties: Record<string, string> | string;
  valid_until: Date | null;
  error: string | null;
  derived_from: string | null;
  card_hold: CardHold | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
};

const COLUMNS =
  'id, user_id, policy_id, state, delivery, link_id, link_expires_at, mail_id, device_id, job_id, properties, valid_until, error, derived_from, card_hold, created_by, created_at, updated_at';

const toRecord = (r: Row): MobileIdRecord => ({
  id: r.id,
  userId: r.user_id,
  policyId: r.policy_id,
  state: r.state,
  delivery: r.delivery,
  linkId: r.link_id,
  linkExpiresAt: iso(r.link_expires_at)!,
  mailId: r.mail_id,
  deviceId: r.device_id,
  jobId: r.job_id,
  properties: json(r.properties),
  validUntil: iso(r.valid_until),
  error: r.error,
  derivedFrom: r.derived_from,
  cardHold: r.card_hold,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export async function insertMobileId(
  tx: Queryable,
  m: {
    userId: string;
    policyId: string;
    delivery: QrDelivery;
    linkId: string;
    linkExpiresAt: Date;
    properties: Record<string, string>;
    derivedFrom?: string | null;
    createdBy: string | null;
    at: Date;
  },
): Promise<MobileIdRecord> {
  const [row] = await tx.query<Row>(
    `INSERT INTO mobile_ids (user_id, policy_id, state, delivery, link_id, link_expires_at, properties, created_by, created_at, updated_at, derived_from)
     VALUES ($1, $2, 'awaiting_wallet', $3, $4, $5, $6, $7, $8, $8, $9) RETURNING ${COLUMNS}`,
    [
      m.userId,
      m.policyId,
      m.delivery,
      m.linkId,
      m.linkExpiresAt,
      JSON.stringify(m.properties),
      m.createdBy,
      m.at,
      m.derivedFrom ?? null,
    ],
  );
  return toRecord(row!);
}

export async function getMobileId(
  db: Queryable,
  id: string,
  forUpdate = false,
): Promise<MobileIdRecord | null> {
  const [row] = await db.query<Row>(
    `SELECT ${COLUMNS} FROM mobile_ids WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return row ? toRecord(row) : null;
}

export async function listMobileIdsOfUser(db: Queryable, userId: string): Promise<MobileIdRecord[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM mobile_ids WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100`,
    [userId],
  );
  return rows.map(toRecord);
}

/** The order a wallet's redeemed link belongs to, still waiting for the phone; locked. */
export async function lockAwaitingMobileIdOfWallet(
  tx: Queryable,
  agentId: string,
): Promise<MobileIdRecord | null> {
  const [row] = await tx.query<Row>(
    `SELECT ${COLUMNS.split(', ')
      .map((c) => `m.${c}`)
      .join(', ')} FROM mobile_ids m JOIN wallet_link_codes l ON l.id = m.link_id
     WHERE l.agent_id = $1 AND l.purpose = 'mobile_id' AND m.state = 'awaiting_wallet'
     ORDER BY m.created_at DESC LIMIT 1 FOR UPDATE OF m`,
    [agentId],
  );
  return row ? toRecord(row) : null;
}

/** The mobile ID an issuance job runs for, locked. */
export async function lockMobileIdOfJob(tx: Queryable, jobId: string): Promise<MobileIdRecord | null> {
  const [row] = await tx.query<Row>(`SELECT ${COLUMNS} FROM mobile_ids WHERE job_id = $1 FOR UPDATE`, [
    jobId,
  ]);
  return row ? toRecord(row) : null;
}

export async function updateMobileId(
  tx: Queryable,
  id: string,
  patch: Partial<{
    state: MobileIdState;
    mailId: string | null;
    deviceId: string | null;
    jobId: string | null;
    validUntil: Date | null;
    error: string | null;
    derivedFrom: string | null;
    cardHold: CardHold | null;
  }>,
  at: Date,
): Promise<MobileIdRecord> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  const col: Record<string, string> = {
    state: 'state',
    mailId: 'mail_id',
    deviceId: 'device_id',
    jobId: 'job_id',
    validUntil: 'valid_until',
    error: 'error',
    derivedFrom: 'derived_from',
    cardHold: 'card_hold',
  };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    params.push(v);
    sets.push(`${col[k]} = $${params.length}`);
  }
  params.push(at);
  sets.push(`updated_at = $${params.length}`);
  const [row] = await tx.query<Row>(
    `UPDATE mobile_ids SET ${sets.join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`,
    params,
  );
  return toRecord(row!);
}

/** Mobile IDs whose validity ran out, claimed for ending (several servers end each once). */
export async function claimExpiredMobileIds(
  tx: Queryable,
  now: Date,
  limit: number,
): Promise<MobileIdRecord[]> {
  const rows = await tx.query<Row>(
    `SELECT ${COLUMNS} FROM mobile_ids WHERE state IN ('active', 'suspended') AND valid_until <= $1
     ORDER BY valid_until, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map(toRecord);
}

/** The live mobile IDs derived from a card (active or suspended), locked: its changes follow. */
export async function lockMobileIdsDerivedFrom(tx: Queryable, deviceId: string): Promise<MobileIdRecord[]> {
  const rows = await tx.query<Row>(
    `SELECT ${COLUMNS} FROM mobile_ids WHERE derived_from = $1 AND state IN ('active', 'suspended')
     ORDER BY created_at, id FOR UPDATE`,
    [deviceId],
  );
  return rows.map(toRecord);
}

// ---- the card challenges of derived mobile IDs -------------------------------------------------

export interface CardChallenge {
  id: string;
  userId: string;
  /** Hex. */
  challenge: string;
  expiresAt: string;
  usedAt: string | null;
}

type ChallengeRow = {
  id: string;
  user_id: string;
  challenge: string;
  expires_at: Date;
  used_at: Date | null;
};

const toChallenge = (r: ChallengeRow): CardChallenge => ({
  id: r.id,
  userId: r.user_id,
  challenge: r.challenge,
  expiresAt: iso(r.expires_at)!,
  usedAt: iso(r.used_at),
});

/** A new challenge for the person; their used and expired ones are deleted (nothing else needs them). */
export async function insertCardChallenge(
  tx: Queryable,
  c: { userId: string; challenge: string; expiresAt: Date; at: Date },
): Promise<CardChallenge> {
  await tx.query(
    'DELETE FROM mobile_id_card_challenges WHERE user_id = $1 AND (used_at IS NOT NULL OR expires_at <= $2)',
    [c.userId, c.at],
  );
  const [row] = await tx.query<ChallengeRow>(
    `INSERT INTO mobile_id_card_challenges (user_id, challenge, expires_at, created_at) VALUES ($1, $2, $3, $4)
     RETURNING id, user_id, challenge, expires_at, used_at`,
    [c.userId, c.challenge, c.expiresAt, c.at],
  );
  return toChallenge(row!);
}

/** The person's challenges still open (not used, not expired). */
export async function countOpenCardChallenges(db: Queryable, userId: string, now: Date): Promise<number> {
  const [r] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM mobile_id_card_challenges WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2',
    [userId, now],
  );
  return Number(r?.n ?? 0);
}

/** A challenge, locked (its use is decided in the caller's transaction). */
export async function lockCardChallenge(tx: Queryable, id: string): Promise<CardChallenge | null> {
  const [row] = await tx.query<ChallengeRow>(
    'SELECT id, user_id, challenge, expires_at, used_at FROM mobile_id_card_challenges WHERE id = $1 FOR UPDATE',
    [id],
  );
  return row ? toChallenge(row) : null;
}

export async function markCardChallengeUsed(tx: Queryable, id: string, at: Date): Promise<void> {
  await tx.query('UPDATE mobile_id_card_challenges SET used_at = $2 WHERE id = $1', [id, at]);
}
