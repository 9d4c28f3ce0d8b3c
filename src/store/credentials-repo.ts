import type { CredentialStatus } from '../domain/credential.js';
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface Credential {
  id: string;
  userId: string;
  policyId: string | null;
  profile: string;
  slot: string;
  status: CredentialStatus;
  certificateSerial: string | null;
  deviceIds: string[];
  createdAt: string;
  updatedAt: string;
}

type CredentialRow = {
  id: string;
  user_id: string;
  policy_id: string | null;
  profile: string;
  slot: string;
  status: CredentialStatus;
  certificate_serial: string | null;
  device_ids: string[] | null;
  created_at: Date;
  updated_at: Date;
};

const toCredential = (r: CredentialRow): Credential => ({
  id: r.id,
  userId: r.user_id,
  policyId: r.policy_id,
  profile: r.profile,
  slot: r.slot,
  status: r.status,
  certificateSerial: r.certificate_serial,
  deviceIds: r.device_ids ?? [],
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

const SELECT = `SELECT c.*, (SELECT array_agg(dc.device_id::text ORDER BY dc.installed_at, dc.device_id) FROM device_credentials dc
  WHERE dc.credential_id = c.id) AS device_ids FROM credentials c`;

export interface NewCredential {
  userId: string;
  policyId: string | null;
  profile: string;
  slot: string;
  deviceId: string;
  certificateSerial?: string | null;
  at: Date;
}

export async function insertCredential(tx: Queryable, c: NewCredential): Promise<Credential> {
  return (await getCredential(tx, await insertCredentialId(tx, c)))!;
}

/**
 * Inserts a credential installed on its device and returns its id: one statement (an issuance
 * makes one per key, and does not need the row back), so the two rows commit together.
 */
export async function insertCredentialId(db: Queryable, c: NewCredential): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `WITH c AS (
       INSERT INTO credentials (user_id, policy_id, profile, slot, certificate_serial, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id),
     d AS (
       INSERT INTO device_credentials (device_id, credential_id, installed_at) SELECT $7, id, $6 FROM c
       ON CONFLICT DO NOTHING)
     SELECT id FROM c`,
    [c.userId, c.policyId, c.profile, c.slot, c.certificateSerial ?? null, c.at, c.deviceId],
  );
  return row!.id;
}

/**
 * A credential its certificate makes (an issuance's key): written in the certificate's own
 * statement with its serial, installed on its device, so neither exists without the other.
 */
export interface CertificateCredential {
  id: string;
  userId: string;
  policyId: string | null;
  profile: string;
  slot: string;
  deviceId: string;
  /** The certificate's serial (hex). */
  serial: string;
}

/**
 * The credentials of a group of certificates as data-modifying CTEs (`cr`, `cd`) of the statement
 * that inserts the certificates: one statement for any number (the columns go as arrays, on
 * `params`). The certificates' foreign key is checked at the statement's end, when they are there.
 */
export function certificateCredentialsCte(
  creds: readonly CertificateCredential[],
  at: Date,
  params: unknown[],
): string {
  const p = (v: unknown) => `$${params.push(v)}`;
  const ids = p(creds.map((c) => c.id));
  const t = p(at);
  return `cr AS (
       INSERT INTO credentials (id, user_id, policy_id, profile, slot, certificate_serial, created_at, updated_at)
       SELECT v.id, v.user_id, v.policy_id, v.profile, v.slot, v.serial, ${t}, ${t}
         FROM unnest(${ids}::uuid[], ${p(creds.map((c) => c.userId))}::uuid[], ${p(creds.map((c) => c.policyId))}::uuid[],
                     ${p(creds.map((c) => c.profile))}::text[], ${p(creds.map((c) => c.slot))}::text[],
                     ${p(creds.map((c) => c.serial))}::text[])
           AS v(id, user_id, policy_id, profile, slot, serial)),
     cd AS (
       INSERT INTO device_credentials (device_id, credential_id, installed_at)
       SELECT v.device_id, v.id, ${t} FROM unnest(${p(creds.map((c) => c.deviceId))}::uuid[], ${ids}::uuid[])
         AS v(device_id, id)
       ON CONFLICT DO NOTHING)`;
}

/** Existing credentials linked to their new certificates' serials, as a CTE (`cs`) of the CA's statement. */
export function credentialSerialsCte(
  links: readonly { credentialId: string; serial: string }[],
  at: Date,
  params: unknown[],
): string {
  const p = (v: unknown) => `$${params.push(v)}`;
  return `cs AS (UPDATE credentials c SET certificate_serial = v.serial, updated_at = ${p(at)}
       FROM unnest(${p(links.map((l) => l.credentialId))}::uuid[], ${p(links.map((l) => l.serial))}::text[])
         AS v(id, serial) WHERE c.id = v.id)`;
}

/** Records that a credential is (also) on a device: shared credentials live on several. */
export async function installCredential(
  tx: Queryable,
  credentialId: string,
  deviceId: string,
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO device_credentials (device_id, credential_id, installed_at) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING`,
    [deviceId, credentialId, at],
  );
}

export async function getCredential(db: Queryable, id: string): Promise<Credential | null> {
  const rows = await db.query<CredentialRow>(`${SELECT} WHERE c.id = $1`, [id]);
  return rows[0] ? toCredential(rows[0]) : null;
}

export async function listDeviceCredentials(db: Queryable, deviceId: string): Promise<Credential[]> {
  const rows = await db.query<CredentialRow>(
    `${SELECT} WHERE c.id IN (SELECT credential_id FROM device_credentials WHERE device_id = $1) ORDER BY c.slot, c.id`,
    [deviceId],
  );
  return rows.map(toCredential);
}

export async function listUserCredentials(db: Queryable, userId: string): Promise<Credential[]> {
  const rows = await db.query<CredentialRow>(
    `${SELECT} WHERE c.user_id = $1 ORDER BY c.created_at DESC, c.slot, c.id`,
    [userId],
  );
  return rows.map(toCredential);
}

export async function setCredentialStatus(
  tx: Queryable,
  id: string,
  status: CredentialStatus,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE credentials SET status = $1, updated_at = $2 WHERE id = $3', [status, at, id]);
}

/** A recycled device keeps no credentials. */
export async function deleteDeviceCredentials(tx: Queryable, deviceId: string): Promise<void> {
  await tx.query('DELETE FROM device_credentials WHERE device_id = $1', [deviceId]);
}

/** Credentials locked for a status change, in id order (one lock order for every caller). */
export async function lockCredentials(tx: Queryable, ids: readonly string[]): Promise<Credential[]> {
  if (ids.length === 0) return [];
  await tx.query('SELECT id FROM credentials WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [[...ids]]);
  const rows = await tx.query<CredentialRow>(`${SELECT} WHERE c.id = ANY($1::uuid[]) ORDER BY c.id`, [
    [...ids],
  ]);
  return rows.map(toCredential);
}

/** Removes a credential from one device (a terminated temporary device gives back a shared key). */
export async function uninstallCredential(
  tx: Queryable,
  credentialId: string,
  deviceId: string,
): Promise<void> {
  await tx.query('DELETE FROM device_credentials WHERE credential_id = $1 AND device_id = $2', [
    credentialId,
    deviceId,
  ]);
}
