// PIV content signers: the certificate row lives in `certificates`; this table keeps the sealed key
// and which signer of a CA is the active one (migrations/041_piv_content_signers.sql).
import type { Queryable } from './db.js';

export interface ContentSignerRecord {
  certificateId: string;
  caId: string;
  encryptedKey: Buffer;
  active: boolean;
  createdAt: Date;
  retiredAt: Date | null;
  /** From the certificate row. */
  der: Buffer;
  notAfter: Date;
  serial: string;
  status: string;
  subject: string;
}

type Row = {
  certificate_id: string;
  ca_id: string;
  encrypted_key: Uint8Array;
  active: boolean;
  created_at: Date;
  retired_at: Date | null;
  der: Uint8Array;
  not_after: Date;
  serial: string;
  status: string;
  subject: string;
};

const toRecord = (r: Row): ContentSignerRecord => ({
  certificateId: r.certificate_id,
  caId: r.ca_id,
  encryptedKey: Buffer.from(r.encrypted_key),
  active: r.active,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
  der: Buffer.from(r.der),
  notAfter: r.not_after,
  serial: r.serial,
  status: r.status,
  subject: r.subject,
});

const COLUMNS = `s.certificate_id, s.ca_id, s.encrypted_key, s.active, s.created_at, s.retired_at,
  c.der, c.not_after, c.serial, c.status, c.subject`;

export async function getActiveContentSigner(
  db: Queryable,
  caId: string,
): Promise<ContentSignerRecord | null> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM piv_content_signers s JOIN certificates c ON c.id = s.certificate_id
      WHERE s.ca_id = $1 AND s.active`,
    [caId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function listContentSigners(db: Queryable, caId: string): Promise<ContentSignerRecord[]> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM piv_content_signers s JOIN certificates c ON c.id = s.certificate_id
      WHERE s.ca_id = $1 ORDER BY s.created_at DESC, s.certificate_id`,
    [caId],
  );
  return rows.map(toRecord);
}

/** Serializes rotations of one CA's signer (the row lock on the CA). */
export async function lockCaForContentSigner(tx: Queryable, caId: string): Promise<void> {
  await tx.query(`SELECT id FROM cas WHERE id = $1 FOR UPDATE`, [caId]);
}

export async function retireContentSigners(tx: Queryable, caId: string, at: Date): Promise<void> {
  await tx.query(
    `UPDATE piv_content_signers SET active = false, retired_at = $2 WHERE ca_id = $1 AND active`,
    [caId, at],
  );
}

export async function insertContentSigner(
  tx: Queryable,
  s: { certificateId: string; caId: string; encryptedKey: Buffer; at: Date },
): Promise<void> {
  await tx.query(
    `INSERT INTO piv_content_signers (certificate_id, ca_id, encrypted_key, active, created_at)
     VALUES ($1, $2, $3, true, $4)`,
    [s.certificateId, s.caId, s.encryptedKey, s.at],
  );
}

/** The content signer whose certificate is exactly these bytes, of any CA, or null. */
export async function findContentSignerByCertificate(
  db: Queryable,
  der: Uint8Array,
): Promise<ContentSignerRecord | null> {
  const rows = await db.query<Row>(
    `SELECT ${COLUMNS} FROM piv_content_signers s JOIN certificates c ON c.id = s.certificate_id
      WHERE c.der = $1`,
    [Buffer.from(der)],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}
