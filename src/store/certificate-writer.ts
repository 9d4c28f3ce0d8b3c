// Group commit for issued certificates. Certificates signed in the same turn of the event loop (a
// card's keys, certified together), or while a write is in flight, queue up and go to the database
// together — one statement (so one implicit transaction, one lock of the
// audit chain's head for one round trip), however many — so the issuance rate is not bound by one
// commit (and its fsync) per certificate. Each certificate still commits together with its own
// audit event, its credential (made in the same statement, or linked to it) and its archived key.
// If a group fails, its members are retried one by one, so one bad row never takes the others
// down (docs/decisions/0010).
import { auditChain, type AuditInput, type AuditParent } from './audit-repo.js';
import {
  archivedKeysCte,
  certificateValues,
  INSERT_CERTIFICATES,
  type NewCertificate,
} from './certificate-repo.js';
import {
  certificateCredentialsCte,
  credentialSerialsCte,
  type CertificateCredential,
} from './credentials-repo.js';
import type { Db } from './db.js';

export interface CertificateWrite {
  certificate: NewCertificate;
  /** The subject's private key, already encrypted, when the profile archives keys. */
  archivedKey: Buffer | null;
  audit: AuditInput;
  at: Date;
  /**
   * The certificate makes its credential (`certificate.credentialId`, of its person, on its device,
   * in its slot): inserted in the certificate's own statement. Without it, an existing credential
   * named by `certificate.credentialId` gets the new serial.
   */
  newCredential?: { policyId: string | null; profile: string } | null;
}

interface Pending extends CertificateWrite {
  made: CertificateCredential | null;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Most certificates written in one statement: ~25 parameters each with its audit event (well under
 * PostgreSQL's 65,535), and one CTE per event in the audit chain.
 */
const MAX_GROUP = 100;

export class CertificateWriter {
  readonly #db: Db;
  readonly #queue: Pending[] = [];
  /** A drain is scheduled or running: a write joins the queue it takes next. */
  #draining = false;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Resolves once the certificate and its audit event are committed; rejects with the database's error. */
  write(w: CertificateWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      const made = w.newCredential ? credentialOf(w) : null;
      this.#queue.push({ ...w, made, resolve, reject });
      if (this.#draining) return;
      this.#draining = true;
      // Next turn: the other certificates signed in this one (a card's) join the first's group.
      setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) {
        const group = this.#queue.splice(0, MAX_GROUP);
        try {
          await this.#writeGroup(group);
          for (const g of group) g.resolve();
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else
            for (const g of group) await this.#writeGroup([g]).then(g.resolve, (e: unknown) => g.reject(e));
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * The group in one statement: its new credentials and their device links, the serials of the
   * existing credentials, the archived keys and the audit events (chained by PostgreSQL from the
   * head it locks) as CTEs of the certificates' INSERT. One statement is atomic: no BEGIN/COMMIT.
   */
  async #writeGroup(group: readonly Pending[]): Promise<void> {
    const at = group[0]!.at;
    const params: unknown[] = [];
    const ctes: string[] = [];
    const made = group.flatMap((g) => (g.made ? [g.made] : []));
    if (made.length) ctes.push(certificateCredentialsCte(made, at, params));
    const links = group.flatMap(({ certificate: c, made }) =>
      c.credentialId && !made ? [{ credentialId: c.credentialId, serial: c.serial }] : [],
    );
    if (links.length) ctes.push(credentialSerialsCte(links, at, params));
    const archived = group.flatMap((g) =>
      g.archivedKey ? [{ certificateId: g.certificate.id, encryptedKey: g.archivedKey }] : [],
    );
    if (archived.length) ctes.push(archivedKeysCte(archived, params));
    // What the certificates, credentials and device links refer to, locked before the audit head
    // (AuditChainOptions.parents: a rotation holds its CA's row while it appends its event).
    const certs = group.map((g) => g.certificate);
    const parents: AuditParent[] = [
      { table: 'cas', ids: certs.map((c) => c.caId) },
      { table: 'users', ids: certs.map((c) => c.userId) },
      { table: 'devices', ids: certs.map((c) => c.deviceId) },
      { table: 'device_policies', ids: made.map((m) => m.policyId) },
      { table: 'credentials', ids: links.map((l) => l.credentialId), update: true },
    ];
    ctes.push(
      auditChain(
        group.map((g) => g.audit),
        params,
        { parents },
      ).ctes,
    );
    const values = certificateValues(certs, at, params);
    await this.#db.query(`WITH ${ctes.join(',\n')}\n${INSERT_CERTIFICATES} VALUES ${values}`, params);
  }
}

/** The credential a certificate makes, from the certificate's own fields. */
function credentialOf({ certificate: c, newCredential }: CertificateWrite): CertificateCredential {
  if (!c.credentialId || !c.userId || !c.deviceId || !c.slot || !newCredential)
    throw new Error('A certificate makes a credential only with its id, person, device and slot');
  return {
    id: c.credentialId,
    userId: c.userId,
    policyId: newCredential.policyId,
    profile: newCredential.profile,
    slot: c.slot,
    deviceId: c.deviceId,
    serial: c.serial,
  };
}
