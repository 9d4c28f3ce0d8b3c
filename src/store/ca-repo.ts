// Certificate authorities and their CRL state. Private keys arrive and leave encrypted: this
// module never sees a CA key in the clear.
import type { Queryable } from './db.js';

export interface CaRecord {
  id: string;
  name: string;
  kind: 'root' | 'issuing';
  parentId: string | null;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm: string;
  certificate: Buffer;
  chainPem: string;
  encryptedKey: Buffer | null;
  active: boolean;
  imported: boolean;
  createdAt: Date;
}

export interface CrlMeta {
  caId: string;
  crlNumber: number;
  /** A status change happened since this CRL was signed. */
  stale: boolean;
  thisUpdate: Date | null;
  nextUpdate: Date | null;
  /** A CRL has been signed and saved. */
  hasCrl: boolean;
}

export interface CrlState extends CrlMeta {
  crl: Buffer | null;
}

type CaRow = {
  id: string;
  name: string;
  kind: 'root' | 'issuing';
  parent_id: string | null;
  subject: string;
  issuer: string;
  serial: string;
  not_before: Date;
  not_after: Date;
  key_algorithm: string;
  certificate: Uint8Array;
  chain_pem: string;
  encrypted_key: Uint8Array | null;
  active: boolean;
  imported: boolean;
  created_at: Date;
};

const toCa = (r: CaRow): CaRecord => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  parentId: r.parent_id,
  subject: r.subject,
  issuer: r.issuer,
  serial: r.serial,
  notBefore: new Date(r.not_before),
  notAfter: new Date(r.not_after),
  keyAlgorithm: r.key_algorithm,
  certificate: Buffer.from(r.certificate),
  chainPem: r.chain_pem,
  encryptedKey: r.encrypted_key ? Buffer.from(r.encrypted_key) : null,
  active: r.active,
  imported: r.imported,
  createdAt: new Date(r.created_at),
});

export async function insertCa(tx: Queryable, ca: Omit<CaRecord, 'createdAt'>): Promise<void> {
  await tx.query(
    `INSERT INTO cas (id, name, kind, parent_id, subject, issuer, serial, not_before, not_after, key_algorithm,
                      certificate, chain_pem, encrypted_key, active, imported)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [
      ca.id,
      ca.name,
      ca.kind,
      ca.parentId,
      ca.subject,
      ca.issuer,
      ca.serial,
      ca.notBefore,
      ca.notAfter,
      ca.keyAlgorithm,
      ca.certificate,
      ca.chainPem,
      ca.encryptedKey,
      ca.active,
      ca.imported,
    ],
  );
  await tx.query('INSERT INTO ca_crls (ca_id) VALUES ($1)', [ca.id]);
}

export async function getCa(db: Queryable, id: string): Promise<CaRecord | null> {
  const [r] = await db.query<CaRow>('SELECT * FROM cas WHERE id = $1', [id]);
  return r ? toCa(r) : null;
}

export async function listCas(db: Queryable): Promise<CaRecord[]> {
  const rows = await db.query<CaRow>(
    `SELECT * FROM cas ORDER BY CASE kind WHEN 'root' THEN 0 ELSE 1 END, created_at, id`,
  );
  return rows.map(toCa);
}

/**
 * Serialises creation of the CA hierarchy for the rest of the transaction, so several servers
 * starting at once against one PostgreSQL create it once (the winner's CAs are seen by the others).
 */
export async function lockHierarchyCreation(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(734110)');
}

export async function getActiveIssuingCa(db: Queryable): Promise<CaRecord | null> {
  const [r] = await db.query<CaRow>(`SELECT * FROM cas WHERE kind = 'issuing' AND active`);
  return r ? toCa(r) : null;
}

/** Makes `id` the one active issuing CA (the previous one keeps serving CRL/OCSP). */
export async function activateIssuingCa(tx: Queryable, id: string): Promise<void> {
  await tx.query(`UPDATE cas SET active = false WHERE kind = 'issuing' AND active AND id <> $1`, [id]);
  await tx.query(`UPDATE cas SET active = true WHERE id = $1`, [id]);
}

type CrlRow = {
  ca_id: string;
  crl_number: number;
  stale: boolean;
  this_update: Date | null;
  next_update: Date | null;
  has_crl: boolean;
};

// The CRL itself (4.8 MB at 100,000 entries) is read only where it is served; everything that
// only decides whether to re-sign reads these columns. It travels as base64 text: PGlite decodes
// a bytea result byte by byte in JavaScript, ten times slower than Buffer.from(base64).
const META_COLUMNS = 'ca_id, crl_number, stale, this_update, next_update, crl IS NOT NULL AS has_crl';

const toMeta = (r: CrlRow): CrlMeta => ({
  caId: r.ca_id,
  crlNumber: Number(r.crl_number),
  stale: r.stale,
  thisUpdate: r.this_update ? new Date(r.this_update) : null,
  nextUpdate: r.next_update ? new Date(r.next_update) : null,
  hasCrl: r.has_crl,
});

/** The CA's CRL state without the CRL itself (cheap: asked on every CRL download). */
export async function getCrlMeta(db: Queryable, caId: string): Promise<CrlMeta | null> {
  const [r] = await db.query<CrlRow>(`SELECT ${META_COLUMNS} FROM ca_crls WHERE ca_id = $1`, [caId]);
  return r ? toMeta(r) : null;
}

/** The CA's CRL state with the signed CRL. */
export async function getCrlState(db: Queryable, caId: string): Promise<CrlState | null> {
  const [r] = await db.query<CrlRow & { crl_b64: string | null }>(
    `SELECT ${META_COLUMNS}, encode(crl, 'base64') AS crl_b64 FROM ca_crls WHERE ca_id = $1`,
    [caId],
  );
  return r ? { ...toMeta(r), crl: r.crl_b64 === null ? null : Buffer.from(r.crl_b64, 'base64') } : null;
}

/**
 * Reads the CA's CRL state and locks its row for the rest of the transaction: concurrent CRL
 * writers (several servers) take turns, so each sees the CRL the previous one saved.
 */
export async function lockCrlState(tx: Queryable, caId: string): Promise<CrlMeta | null> {
  const [r] = await tx.query<CrlRow>(`SELECT ${META_COLUMNS} FROM ca_crls WHERE ca_id = $1 FOR UPDATE`, [
    caId,
  ]);
  return r ? toMeta(r) : null;
}

export async function listCrlStates(db: Queryable): Promise<CrlMeta[]> {
  return (await db.query<CrlRow>(`SELECT ${META_COLUMNS} FROM ca_crls ORDER BY ca_id`)).map(toMeta);
}

/** Marks the CA's CRL as behind the certificates' status (in the status change's transaction). */
export async function markCrlStale(tx: Queryable, caId: string): Promise<void> {
  await tx.query('UPDATE ca_crls SET stale = true WHERE ca_id = $1', [caId]);
}

/**
 * Locks the CA's CRL row and reserves the next CRL number. Holding the row lock until the new CRL
 * is saved makes concurrent regenerations (several servers) take turns, so numbers never repeat.
 */
export async function reserveCrlNumber(tx: Queryable, caId: string): Promise<number> {
  const [r] = await tx.query<{ crl_number: number }>(
    'UPDATE ca_crls SET crl_number = crl_number + 1 WHERE ca_id = $1 RETURNING crl_number',
    [caId],
  );
  if (!r) throw new Error(`No CRL state for CA ${caId}`);
  return Number(r.crl_number);
}

export async function saveCrl(
  tx: Queryable,
  caId: string,
  crl: { thisUpdate: Date; nextUpdate: Date; der: Buffer },
): Promise<void> {
  await tx.query(
    `UPDATE ca_crls SET this_update = $2, next_update = $3, crl = decode($4, 'base64'), stale = false
      WHERE ca_id = $1`,
    [caId, crl.thisUpdate, crl.nextUpdate, crl.der.toString('base64')],
  );
}
