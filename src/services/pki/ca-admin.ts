// The CA hierarchy as administrators see it: created on first start (a root and an issuing CA),
// an enterprise issuing CA imported in its place, listed with each CA's current CRL, and each CA's
// certificate and chain handed out. Creating and importing store the CA with its audit event in
// one transaction and sign its first CRL right after.
import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { KeyAlgorithm } from '../../pki/algorithms.js';
import { createCaHierarchy } from '../../pki/ca-builder.js';
import { readCaImport, type CaImport } from '../../pki/ca-import.js';
import { pemBlocks, toPem, toPemChain } from '../../pki/pem.js';
import { serialHex } from '../../pki/serial.js';
import { certificateParts, keyAlgorithmOfSpki } from '../../pki/signing-ca.js';
import { x509 } from '../../pki/x509-lib.js';
import { appendAudit } from '../../store/audit-repo.js';
import {
  activateIssuingCa,
  getActiveIssuingCa,
  getCa,
  getCrlMeta,
  insertCa,
  listCas,
  listCrlStates,
  lockHierarchyCreation,
  type CaRecord,
  type CrlMeta,
} from '../../store/ca-repo.js';
import type { Db } from '../../store/db.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { CaKeyStore } from './ca-keys.js';

export type { CaImport } from '../../pki/ca-import.js';

export interface CaSummary {
  id: string;
  name: string;
  kind: 'root' | 'issuing';
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  keyAlgorithm: string;
  active: boolean;
  imported: boolean;
  crl: { number: string; thisUpdate: string; nextUpdate: string } | null;
}

/** Told when the hierarchy changes, so the next signature sees the new CA. */
export interface HierarchyWatcher {
  forget(): void;
}

/** Signs a CA's CRL. */
export interface CrlSigning {
  publish(caId: string): Promise<unknown>;
}

export interface CaAdminSettings {
  caAlgorithm: KeyAlgorithm;
  organization: string;
  externalUrl(): string;
}

export class CaAdmin {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      keys: CaKeyStore;
      registry: HierarchyWatcher;
      crls: CrlSigning;
      settings: CaAdminSettings;
    },
  ) {}

  /**
   * Creates a root and an issuing CA on first start (idempotent; several servers starting at
   * once agree through a lock). Returns the active issuing CA's id.
   */
  async ensureHierarchy(): Promise<{ issuingCaId: string; created: boolean }> {
    const existing = await getActiveIssuingCa(this.deps.db);
    if (existing) return { issuingCaId: existing.id, created: false };
    const out = await this.deps.db.transaction(async (tx) => {
      await lockHierarchyCreation(tx);
      const again = await getActiveIssuingCa(tx);
      if (again) return { issuingCaId: again.id, created: false, ids: [] as string[] };
      const now = this.deps.clock.now();
      const [rootId, issuingId] = [randomUUID(), randomUUID()];
      const rootKey = await this.deps.keys.generate(rootId, this.deps.settings.caAlgorithm);
      const issuingKey = await this.deps.keys.generate(issuingId, this.deps.settings.caAlgorithm);
      const { root, issuing } = await createCaHierarchy({
        root: { id: rootId, signer: rootKey.signer },
        issuing: { id: issuingId, signer: issuingKey.signer },
        organization: this.deps.settings.organization,
        externalUrl: this.deps.settings.externalUrl(),
        now,
      });
      const rootRec = caRecord(rootId, root.certificateDer, rootKey.sealed, {
        kind: 'root',
        parentId: null,
        chainPem: '',
        imported: false,
      });
      const issRec = caRecord(issuingId, issuing.certificateDer, issuingKey.sealed, {
        kind: 'issuing',
        parentId: rootId,
        chainPem: toPem(root.certificateDer),
        imported: false,
      });
      rootRec.name = 'Tessera Root CA';
      issRec.name = 'Tessera Issuing CA 1';
      issRec.active = true;
      for (const r of [rootRec, issRec]) {
        await insertCa(tx, r);
        await appendAudit(tx, {
          actor: { id: null, name: 'system' },
          action: 'ca.created',
          targetType: 'ca',
          targetId: r.id,
          details: { kind: r.kind, subject: r.subject, keyAlgorithm: r.keyAlgorithm, serial: r.serial },
          at: now,
        });
      }
      return { issuingCaId: issuingId, created: true, ids: [rootId, issuingId] };
    });
    this.deps.registry.forget();
    for (const id of out.ids) await this.deps.crls.publish(id);
    return { issuingCaId: out.issuingCaId, created: out.created };
  }

  /**
   * Imports an existing issuing CA (certificate chain + key, as PEM or PKCS#12) and makes it the
   * active issuing CA. The previous issuing CA keeps serving CRL and OCSP for what it issued.
   */
  async importCa(actor: Actor, input: CaImport): Promise<CaSummary> {
    const now = this.deps.clock.now();
    const { privateKey, chain } = await readCaImport(input, now);
    const id = randomUUID();
    const key = await this.deps.keys.adopt(id, privateKey);
    const rec = caRecord(id, chain[0]!, key.sealed, {
      kind: 'issuing',
      parentId: null,
      chainPem: toPemChain(chain.slice(1)),
      imported: true,
    });
    await this.deps.db.transaction(async (tx) => {
      await insertCa(tx, rec);
      await activateIssuingCa(tx, id);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'ca.imported',
        targetType: 'ca',
        targetId: id,
        details: {
          subject: rec.subject,
          issuer: rec.issuer,
          serial: rec.serial,
          keyAlgorithm: rec.keyAlgorithm,
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
    });
    this.deps.registry.forget();
    await this.deps.crls.publish(id);
    return caSummary((await getCa(this.deps.db, id))!, await getCrlMeta(this.deps.db, id));
  }

  async list(): Promise<CaSummary[]> {
    const [cas, crls] = await Promise.all([listCas(this.deps.db), listCrlStates(this.deps.db)]);
    const byCa = new Map(crls.map((c) => [c.caId, c]));
    return cas.map((c) => caSummary(c, byCa.get(c.id) ?? null));
  }

  async certificateDer(id: string): Promise<Buffer> {
    return (await this.#find(id)).certificate;
  }

  async certificatePem(id: string): Promise<string> {
    return toPem(await this.certificateDer(id));
  }

  /** The CA's certificate followed by the ones above it, DER. */
  async chainDer(id: string): Promise<Buffer[]> {
    const ca = await this.#find(id);
    // An imported CA carries its chain; our own issuing CA records its root as its parent.
    const above = ca.chainPem ? pemBlocks(ca.chainPem) : [];
    if (!ca.chainPem && ca.parentId) {
      const parent = await getCa(this.deps.db, ca.parentId);
      if (parent) above.push(parent.certificate);
    }
    return [ca.certificate, ...above];
  }

  async chainPem(id: string): Promise<string> {
    return toPemChain(await this.chainDer(id));
  }

  async #find(id: string): Promise<CaRecord> {
    const ca = await getCa(this.deps.db, id);
    if (!ca) throw new NotFoundError('CA', id);
    return ca;
  }
}

/** The row of a CA: names and dates read from its certificate, the key as the key store sealed it. */
function caRecord(
  id: string,
  certificateDer: Buffer,
  sealedKey: Buffer,
  o: { kind: 'root' | 'issuing'; parentId: string | null; chainPem: string; imported: boolean },
): Omit<CaRecord, 'createdAt'> {
  const cert = new x509.X509Certificate(new Uint8Array(certificateDer));
  const keyAlgorithm = keyAlgorithmOfSpki(certificateParts(certificateDer).spki);
  if (!keyAlgorithm)
    throw new ValidationError('The CA key algorithm is not supported (P-256, P-384, RSA 2048-4096)');
  return {
    id,
    name: cert.subjectName.getField('CN')[0] ?? cert.subject,
    kind: o.kind,
    parentId: o.parentId,
    subject: cert.subject,
    issuer: cert.issuer,
    serial: serialHex(Buffer.from(cert.serialNumber, 'hex')),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    keyAlgorithm,
    certificate: certificateDer,
    chainPem: o.chainPem,
    encryptedKey: sealedKey,
    active: false,
    imported: o.imported,
  };
}

function caSummary(c: CaRecord, crl: CrlMeta | null): CaSummary {
  return {
    id: c.id,
    name: c.name,
    kind: c.kind,
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serial,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    keyAlgorithm: c.keyAlgorithm,
    active: c.active,
    imported: c.imported,
    crl:
      crl && crl.thisUpdate && crl.nextUpdate
        ? {
            number: String(crl.crlNumber),
            thisUpdate: crl.thisUpdate.toISOString(),
            nextUpdate: crl.nextUpdate.toISOString(),
          }
        : null,
  };
}
