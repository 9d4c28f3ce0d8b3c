// Delegated OCSP responder certificates and their sealed keys (never a key in the clear here).
import type { Queryable } from './db.js';

export interface OcspSignerRecord {
  id: string;
  caId: string;
  keyAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  certificate: Buffer;
  encryptedKey: Buffer;
}

type Row = {
  id: string;
  ca_id: string;
  key_algorithm: string;
  not_before: Date;
  not_after: Date;
  certificate: Uint8Array;
  encrypted_key: Uint8Array;
};

const toRecord = (r: Row): OcspSignerRecord => ({
  id: r.id,
  caId: r.ca_id,
  keyAlgorithm: r.key_algorithm,
  notBefore: new Date(r.not_before),
  notAfter: new Date(r.not_after),
  certificate: Buffer.from(r.certificate),
  encryptedKey: Buffer.from(r.encrypted_key),
});

/** The CA's responder that lives longest (the one to sign with), or null. */
export async function newestOcspSigner(db: Queryable, caId: string): Promise<OcspSignerRecord | null> {
  const [r] = await db.query<Row>(
    'SELECT * FROM ocsp_signers WHERE ca_id = $1 ORDER BY not_after DESC, created_at DESC LIMIT 1',
    [caId],
  );
  return r ? toRecord(r) : null;
}

/**
 * Serialises responder rollover for the rest of the transaction, so several servers renewing at
 * once make one certificate (the others find it).
 */
export async function lockOcspSignerRollover(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(734120)');
}

export async function insertOcspSigner(tx: Queryable, s: OcspSignerRecord): Promise<void> {
  await tx.query(
    `INSERT INTO ocsp_signers (id, ca_id, key_algorithm, not_before, not_after, certificate, encrypted_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [s.id, s.caId, s.keyAlgorithm, s.notBefore, s.notAfter, s.certificate, s.encryptedKey],
  );
}

export async function listOcspSigners(db: Queryable, caId: string): Promise<OcspSignerRecord[]> {
  return (await db.query<Row>('SELECT * FROM ocsp_signers WHERE ca_id = $1 ORDER BY not_after', [caId])).map(
    toRecord,
  );
}
