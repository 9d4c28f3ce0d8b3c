// Issued certificates with their status, and archived key-management keys (stored encrypted).
import type { Queryable } from './db.js';

export type CertificateStatus = 'valid' | 'suspended' | 'revoked';

export interface CertificateRecord {
  id: string;
  caId: string;
  serial: string;
  userId: string | null;
  deviceId: string | null;
  credentialId: string | null;
  profile: string;
  slot: string | null;
  subject: string;
  keyAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  status: CertificateStatus;
  revocationReason: string | null;
  revokedAt: Date | null;
  der: Buffer;
  createdAt: Date;
  updatedAt: Date;
}

export type NewCertificate = Omit<
  CertificateRecord,
  'status' | 'revocationReason' | 'revokedAt' | 'createdAt' | 'updatedAt'
>;

type Row = {
  id: string;
  ca_id: string;
  serial: string;
  user_id: string | null;
  device_id: string | null;
  credential_id: string | null;
  profile: string;
  slot: string | null;
  subject: string;
  key_algorithm: string;
  not_before: Date;
  not_after: Date;
  status: CertificateStatus;
  revocation_reason: string | null;
  revoked_at: Date | null;
  der: Uint8Array;
  created_at: Date;
  updated_at: Date;
};

const toRecord = (r: Row): CertificateRecord => ({
  id: r.id,
  caId: r.ca_id,
  serial: r.serial,
  userId: r.user_id,
  deviceId: r.device_id,
  credentialId: r.credential_id,
  profile: r.profile,
  slot: r.slot,
  subject: r.subject,
  keyAlgorithm: r.key_algorithm,
  notBefore: new Date(r.not_before),
  notAfter: new Date(r.not_after),
  status: r.status,
  revocationReason: r.revocation_reason,
  revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  der: Buffer.from(r.der),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export async function insertCertificate(tx: Queryable, c: NewCertificate, at: Date): Promise<void> {
  await insertCertificates(tx, [c], at);
}

/** The INSERT of certificates, for `VALUES` rows made by certificateValues. */
export const INSERT_CERTIFICATES = `INSERT INTO certificates (id, ca_id, serial, user_id, device_id, credential_id, profile,
  slot, subject, key_algorithm, not_before, not_after, der, created_at, updated_at)`;

/** The `VALUES` rows of certificates for INSERT_CERTIFICATES; their parameters go on `params`. */
export function certificateValues(certs: readonly NewCertificate[], at: Date, params: unknown[]): string {
  const p = (v: unknown) => `$${params.push(v)}`;
  return certs
    .map((c) => {
      const t = p(at);
      return `(${[
        c.id,
        c.caId,
        c.serial,
        c.userId,
        c.deviceId,
        c.credentialId,
        c.profile,
        c.slot,
        c.subject,
        c.keyAlgorithm,
        c.notBefore,
        c.notAfter,
        c.der,
      ]
        .map(p)
        .join(', ')}, ${t}, ${t})`;
    })
    .join(', ');
}

/** Inserts several certificates in one statement. */
export async function insertCertificates(
  tx: Queryable,
  certs: readonly NewCertificate[],
  at: Date,
): Promise<void> {
  if (certs.length === 0) return;
  const params: unknown[] = [];
  await tx.query(`${INSERT_CERTIFICATES} VALUES ${certificateValues(certs, at, params)}`, params);
}

/**
 * Archived keys as a data-modifying CTE (`ak`) of the statement that inserts their certificates
 * (the foreign key is checked at the statement's end); parameters go on `params`.
 */
export function archivedKeysCte(
  keys: readonly { certificateId: string; encryptedKey: Buffer }[],
  params: unknown[],
): string {
  const p = (v: unknown) => `$${params.push(v)}`;
  const rows = keys.map((k) => `(${p(k.certificateId)}::uuid, ${p(k.encryptedKey)}::bytea)`);
  return `ak AS (INSERT INTO archived_keys (certificate_id, encrypted_key) VALUES ${rows.join(', ')})`;
}

export async function getCertificate(
  db: Queryable,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<CertificateRecord | null> {
  const [r] = await db.query<Row>(
    `SELECT * FROM certificates WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return r ? toRecord(r) : null;
}

export async function findBySerial(
  db: Queryable,
  caId: string,
  serial: string,
): Promise<Pick<CertificateRecord, 'status' | 'revocationReason' | 'revokedAt'> | null> {
  const [r] = await db.query<Pick<Row, 'status' | 'revocation_reason' | 'revoked_at'>>(
    'SELECT status, revocation_reason, revoked_at FROM certificates WHERE ca_id = $1 AND serial = $2',
    [caId, serial],
  );
  return r
    ? {
        status: r.status,
        revocationReason: r.revocation_reason,
        revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
      }
    : null;
}

export async function setStatus(
  tx: Queryable,
  id: string,
  s: { status: CertificateStatus; revocationReason: string | null; revokedAt: Date | null; at: Date },
): Promise<void> {
  await tx.query(
    'UPDATE certificates SET status = $2, revocation_reason = $3, revoked_at = $4, updated_at = $5 WHERE id = $1',
    [id, s.status, s.revocationReason, s.revokedAt, s.at],
  );
}

export interface CrlRow {
  serial: string;
  /** Null when the certificate is valid again (reinstated): it leaves the CRL. */
  revokedAt: Date | null;
  reason: string;
  notAfter: Date;
}

// Times as epoch milliseconds: a 100,000-entry CRL reads 200,000 of them, and a number is far
// cheaper for either driver to hand over than a timestamp parsed into a Date.
type CrlDbRow = {
  serial: string;
  revoked_ms: number | string | null;
  revocation_reason: string | null;
  not_after_ms: number | string;
};

const CRL_COLUMNS = `serial, revocation_reason,
  CASE WHEN status = 'valid' THEN NULL ELSE (extract(epoch FROM revoked_at) * 1000)::float8 END AS revoked_ms,
  (extract(epoch FROM not_after) * 1000)::float8 AS not_after_ms`;

const toCrlRow = (r: CrlDbRow): CrlRow => ({
  serial: r.serial,
  revokedAt: r.revoked_ms === null ? null : new Date(Number(r.revoked_ms)),
  reason: r.revocation_reason ?? 'unspecified',
  notAfter: new Date(Number(r.not_after_ms)),
});

/** Entries for a full CRL: every unexpired certificate of the CA that is held or revoked. */
export async function listRevokedForCrl(db: Queryable, caId: string, now: Date): Promise<CrlRow[]> {
  const rows = await db.query<CrlDbRow>(
    `SELECT ${CRL_COLUMNS} FROM certificates
      WHERE ca_id = $1 AND status <> 'valid' AND not_after > $2`,
    [caId, now],
  );
  return rows.map(toCrlRow);
}

/**
 * The CA's certificates changed at or after `since` (held, revoked, reinstated, or just issued —
 * a reinstated row looks like a new one): what the next CRL must apply to the last one's.
 */
export async function listCrlChangesSince(db: Queryable, caId: string, since: Date): Promise<CrlRow[]> {
  const rows = await db.query<CrlDbRow>(
    `SELECT ${CRL_COLUMNS} FROM certificates
      WHERE ca_id = $1 AND updated_at >= $2`,
    [caId, since],
  );
  return rows.map(toCrlRow);
}

export interface CertificateQuery {
  userId?: string;
  deviceId?: string;
  status?: CertificateStatus;
  /** Hex serial, with or without colons; matched as a prefix. */
  serial?: string;
  /** Matches the subject (case-insensitive substring). */
  q?: string;
  limit: number;
  offset: number;
}

export async function searchCertificates(
  db: Queryable,
  q: CertificateQuery,
): Promise<{ items: CertificateRecord[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, v: unknown) => {
    params.push(v);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.userId) add('user_id = ?', q.userId);
  if (q.deviceId) add('device_id = ?', q.deviceId);
  if (q.status) add('status = ?', q.status);
  if (q.serial)
    add(
      // Serials are hex; leading zeros are ignored on both sides so "0a1b" finds "a1b…" and back.
      "ltrim(serial, '0') LIKE ?",
      `${q.serial
        .toLowerCase()
        .replace(/[^0-9a-f]/g, '')
        .replace(/^0+/, '')}%`,
    );
  if (q.q)
    add(`lower(subject) LIKE ? ESCAPE '\\'`, `%${q.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const [count] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM certificates ${w}`, params);
  const rows = await db.query<Row>(
    `SELECT * FROM certificates ${w} ORDER BY created_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, q.limit, q.offset],
  );
  return { items: rows.map(toRecord), total: count?.n ?? 0 };
}

/** Mirrors a certificate's status onto its credential (DESIGN.md: credential status mirrors the CA). */
export async function setCredentialStatus(
  tx: Queryable,
  credentialId: string,
  status: CertificateStatus,
  at: Date,
): Promise<void> {
  await tx.query('UPDATE credentials SET status = $2, updated_at = $3 WHERE id = $1', [
    credentialId,
    status,
    at,
  ]);
}

export async function takeArchivedKey(
  tx: Queryable,
  certificateId: string,
  at: Date,
): Promise<{ encryptedKey: Buffer; recoveredCount: number } | null> {
  const [r] = await tx.query<{ encrypted_key: Uint8Array; recovered_count: number }>(
    `UPDATE archived_keys SET recovered_count = recovered_count + 1, last_recovered_at = $2
      WHERE certificate_id = $1 RETURNING encrypted_key, recovered_count`,
    [certificateId, at],
  );
  return r ? { encryptedKey: Buffer.from(r.encrypted_key), recoveredCount: Number(r.recovered_count) } : null;
}

export async function hasArchivedKey(db: Queryable, certificateId: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM archived_keys WHERE certificate_id = $1', [certificateId]);
  return r.length > 0;
}

/** The certificates of credentials that are not revoked yet, locked for a status change. */
export async function liveCertificatesOfCredentials(
  tx: Queryable,
  credentialIds: readonly string[],
): Promise<CertificateRecord[]> {
  if (credentialIds.length === 0) return [];
  const rows = await tx.query<Row>(
    `SELECT * FROM certificates WHERE credential_id = ANY($1::uuid[]) AND status <> 'revoked'
      ORDER BY credential_id, created_at, id FOR UPDATE`,
    [[...credentialIds]],
  );
  return rows.map(toRecord);
}

/** The newest certificate of a credential whose key is archived (a key-management key to restore). */
export async function archivedCertificateOfCredential(
  db: Queryable,
  credentialId: string,
): Promise<{ id: string; der: Uint8Array } | null> {
  const [r] = await db.query<{ id: string; der: Uint8Array }>(
    `SELECT c.id, c.der FROM certificates c JOIN archived_keys a ON a.certificate_id = c.id
      WHERE c.credential_id = $1 ORDER BY c.created_at DESC, c.id LIMIT 1`,
    [credentialId],
  );
  return r ? { id: r.id, der: Uint8Array.from(r.der) } : null;
}
