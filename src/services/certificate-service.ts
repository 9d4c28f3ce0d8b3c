// The certificate authority as a use case: creates or imports the CA hierarchy, issues
// certificates from CSRs or from a bare public key with proof of possession, archives and recovers
// key-management keys, suspends / reinstates / revokes (each with its audit event, in one
// transaction, mirrored onto the credential), keeps every CA's CRL current and answers OCSP.
// Pure PKI work happens in src/pki; SQL in src/store; this file orders them.
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { can, type Permission } from '../domain/permissions.js';
import { credentialTransition, isRevocationReason, type RevocationReason } from '../domain/credential.js';
import { ForbiddenError, NotFoundError, ValidationError, must } from '../domain/errors.js';
import {
  generateKeyPair,
  isEcKey,
  keyAlgorithmOf,
  parseKeyAlgorithm,
  spkiOf,
  type KeyAlgorithm,
} from '../pki/algorithms.js';
import { createCaHierarchy } from '../pki/ca-builder.js';
import { CompiledProfile } from '../pki/cert-template.js';
import { buildCrl } from '../pki/crl.js';
import { parseCsr } from '../pki/csr.js';
import { isEncryptedKeyPem, pemBlocks, pemOrDer, toPem } from '../pki/pem.js';
import { SoftSigner } from '../pki/signer.js';
import { subjectAltNamesFor, truncateToSeconds } from '../pki/leaf.js';
import { respondOcsp, type OcspStatus } from '../pki/ocsp.js';
import { exportPkcs12, importPkcs12 } from '../pki/pkcs12.js';
import { verifyPossession, type SignedChallenge } from '../pki/possession.js';
import { CERTIFICATE_PROFILES, type CertificateProfileName } from '../pki/profiles.js';
import type { CrlReason } from '../pki/reasons.js';
import { randomSerial, serialHex } from '../pki/serial.js';
import { certificateParts, signingCa, type SigningCa } from '../pki/signing-ca.js';
import {
  DEFAULT_SUBJECT_TEMPLATE,
  renderSubject,
  subjectString,
  type SubjectAttributeTemplate,
  type SubjectPerson,
} from '../pki/subject.js';
import { x509 } from '../pki/x509-lib.js';
import type { MasterKey } from '../secrets/master-key.js';
import { appendAudit, appendAuditEvents, type AuditInput } from '../store/audit-repo.js';
import * as caRepo from '../store/ca-repo.js';
import * as certRepo from '../store/certificate-repo.js';
import { setCredentialCertificate } from '../store/credentials-repo.js';
import type { Db, Queryable } from '../store/db.js';
import { describeCertificate, type CertificateDecoded } from './pki-describe.js';

export interface CertificateServiceConfig {
  /**
   * Base URL of this server as relying parties reach it: CRL DP, AIA and OCSP URLs derive from it.
   * Read when a CA is first used for signing (the object is kept, not copied), so a server that
   * learns its port after listening can still set it before issuing.
   */
  externalUrl: string;
  /** nextUpdate of each CRL = thisUpdate + this; a CRL is re-signed once half of it has passed. */
  crlValidityHours: number;
  /** Key algorithm for a newly created root and issuing CA: ECCP256 / ECDSA-P256, ECCP384 / ECDSA-P384, RSA2048 … RSA4096. */
  caAlgorithm: KeyAlgorithm | string;
  /** Organisation (O=) in the CA names. */
  organization?: string;
  /** Subject template for issued certificates (default CN=${displayName}, UID=${username}). */
  subjectTemplate?: readonly SubjectAttributeTemplate[];
  /** nextUpdate of OCSP answers, in seconds (default 3600). */
  ocspValiditySeconds?: number;
  /** certificatePolicies OIDs asserted in issued certificates (default none). */
  certificatePolicies?: readonly string[];
}

export interface Clock {
  now(): Date;
}

/** Who acts. Structurally the services' Actor: roles decide what they may do. */
export interface PkiActor {
  id: string | null;
  name: string;
  roles: readonly string[];
  correlationId?: string;
}

export interface CertificateServiceDeps {
  db: Db;
  masterKey: MasterKey;
  clock: Clock;
  config: CertificateServiceConfig;
}

/** What a certificate is issued for: a person, a credential profile of their device policy. */
export interface IssueTarget {
  user: SubjectPerson & { id: string | null };
  profile: {
    name?: string;
    certificateProfile: CertificateProfileName;
    keyAlgorithm: KeyAlgorithm;
    validityDays: number;
    slot?: string | null;
    archiveKey?: boolean;
  };
  deviceId?: string | null;
  credentialId?: string | null;
  /** Card UUID for the SAN URI (FIPS 201-3 §4.2.1); defaults to the device id. */
  cardUuid?: string | null;
}

export type CertificateStatus = certRepo.CertificateStatus;

export interface CertificateSummary {
  id: string;
  serial: string;
  caId: string;
  userId: string | null;
  deviceId: string | null;
  credentialId: string | null;
  profile: string;
  slot: string | null;
  subject: string;
  notBefore: string;
  notAfter: string;
  status: CertificateStatus;
  revocationReason: string | null;
  revokedAt: string | null;
}

export type CertificateDetail = CertificateSummary & CertificateDecoded & { pem: string };

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

export type CaImport =
  { certificateChainPem: string; privateKeyPem: string } | { pkcs12Base64: string; password: string };

export type RecoveredKey =
  { format: 'pkcs8'; pkcs8: Buffer } | { format: 'pkcs12'; pkcs12: Buffer; password: string };

interface PendingWrite {
  rec: certRepo.NewCertificate;
  archived: Buffer | null;
  audit: AuditInput;
  at: Date;
  resolve(): void;
  reject(err: unknown): void;
}

/** Most certificates written in one transaction (14 parameters each, well under PostgreSQL's 65,535). */
const MAX_WRITE_GROUP = 200;

type CaCache = { at: number; byId: Map<string, caRepo.CaRecord>; activeId: string | null };

/** Seconds the CA list is trusted before re-reading (another server may have imported a CA). */
const CA_CACHE_MS = 30_000;

const CA_KEY_PURPOSE = (id: string) => `ca-key:${id}`;
const ARCHIVED_KEY_PURPOSE = (certId: string) => `archived-key:${certId}`;

function summary(r: certRepo.CertificateRecord): CertificateSummary {
  return {
    id: r.id,
    serial: r.serial,
    caId: r.caId,
    userId: r.userId,
    deviceId: r.deviceId,
    credentialId: r.credentialId,
    profile: r.profile,
    slot: r.slot,
    subject: r.subject,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    status: r.status,
    revocationReason: r.revocationReason,
    revokedAt: r.revokedAt ? r.revokedAt.toISOString() : null,
  };
}

export class CertificateService {
  readonly #db: Db;
  readonly #mk: MasterKey;
  readonly #clock: Clock;
  readonly #live: CertificateServiceConfig;
  readonly #cfg: Required<Omit<CertificateServiceConfig, 'organization' | 'externalUrl' | 'caAlgorithm'>> & {
    organization: string;
    caAlgorithm: KeyAlgorithm;
  };
  #cas: CaCache | null = null;
  readonly #signers = new Map<string, SigningCa>();
  readonly #templates = new Map<string, CompiledProfile>();
  readonly #queue: PendingWrite[] = [];
  #draining = false;

  constructor(deps: CertificateServiceDeps) {
    this.#db = deps.db;
    this.#mk = deps.masterKey;
    this.#clock = deps.clock;
    const c = deps.config;
    const caAlgorithm = parseKeyAlgorithm(c.caAlgorithm);
    if (!caAlgorithm)
      throw new Error(
        `pki.caAlgorithm "${c.caAlgorithm}" is not one of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096`,
      );
    if (!(c.crlValidityHours > 0)) throw new Error('pki.crlValidityHours must be positive');
    this.#live = c;
    this.#cfg = {
      crlValidityHours: c.crlValidityHours,
      caAlgorithm,
      organization: c.organization ?? 'Tessera',
      subjectTemplate: c.subjectTemplate ?? DEFAULT_SUBJECT_TEMPLATE,
      ocspValiditySeconds: c.ocspValiditySeconds ?? 3600,
      certificatePolicies: c.certificatePolicies ?? [],
    };
  }

  get #externalUrl(): string {
    return this.#live.externalUrl.replace(/\/+$/, '');
  }

  // ---- CA hierarchy ------------------------------------------------------------------------

  /**
   * Creates a root and an issuing CA on first start (idempotent; several servers starting at
   * once agree through an advisory lock). Returns the active issuing CA's id.
   */
  async ensureHierarchy(): Promise<{ issuingCaId: string; created: boolean }> {
    const existing = await caRepo.getActiveIssuingCa(this.#db);
    if (existing) return { issuingCaId: existing.id, created: false };
    const out = await this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(734110)');
      const again = await caRepo.getActiveIssuingCa(tx);
      if (again) return { issuingCaId: again.id, created: false, ids: [] as string[] };
      const now = this.#clock.now();
      const rootKey = generateKeyPair(this.#cfg.caAlgorithm).privateKey;
      const issuingKey = generateKeyPair(this.#cfg.caAlgorithm).privateKey;
      const { root, issuing } = await createCaHierarchy({
        root: { id: randomUUID(), signer: new SoftSigner(rootKey) },
        issuing: { id: randomUUID(), signer: new SoftSigner(issuingKey) },
        organization: this.#cfg.organization,
        externalUrl: this.#externalUrl,
        now,
      });
      const rootRec = this.#caRecord(
        { ...root, privateKey: rootKey },
        { kind: 'root', parentId: null, chainPem: '', imported: false },
      );
      const issRec = this.#caRecord(
        { ...issuing, privateKey: issuingKey },
        {
          kind: 'issuing',
          parentId: root.id,
          chainPem: toPem(root.certificateDer),
          imported: false,
        },
      );
      rootRec.name = 'Tessera Root CA';
      issRec.name = 'Tessera Issuing CA 1';
      issRec.active = true;
      await caRepo.insertCa(tx, rootRec);
      await caRepo.insertCa(tx, issRec);
      for (const r of [rootRec, issRec])
        await appendAudit(tx, {
          actor: { id: null, name: 'system' },
          action: 'ca.created',
          targetType: 'ca',
          targetId: r.id,
          details: { kind: r.kind, subject: r.subject, keyAlgorithm: r.keyAlgorithm, serial: r.serial },
          at: now,
        });
      return { issuingCaId: issuing.id, created: true, ids: [root.id, issuing.id] };
    });
    this.#cas = null;
    for (const id of out.ids) await this.#regenerateCrl(id, false);
    return { issuingCaId: out.issuingCaId, created: out.created };
  }

  #caRecord(
    ca: { id: string; certificateDer: Buffer; privateKey: KeyObject },
    o: { kind: 'root' | 'issuing'; parentId: string | null; chainPem: string; imported: boolean },
  ): Omit<caRepo.CaRecord, 'createdAt'> {
    const cert = new x509.X509Certificate(new Uint8Array(ca.certificateDer));
    const alg = keyAlgorithmOf(ca.privateKey);
    if (!alg)
      throw new ValidationError('The CA key algorithm is not supported (P-256, P-384, RSA 2048-4096)');
    const pkcs8 = ca.privateKey.export({ type: 'pkcs8', format: 'der' });
    return {
      id: ca.id,
      name: cert.subjectName.getField('CN')[0] ?? cert.subject,
      kind: o.kind,
      parentId: o.parentId,
      subject: cert.subject,
      issuer: cert.issuer,
      serial: serialHex(Buffer.from(cert.serialNumber, 'hex')),
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      keyAlgorithm: alg,
      certificate: ca.certificateDer,
      chainPem: o.chainPem,
      encryptedKey: this.#mk.encrypt(pkcs8, CA_KEY_PURPOSE(ca.id)),
      active: false,
      imported: o.imported,
    };
  }

  /**
   * Imports an existing issuing CA (certificate chain + key, as PEM or PKCS#12) and makes it the
   * active issuing CA. The previous issuing CA keeps serving CRL and OCSP for what it issued.
   */
  async importCa(actor: PkiActor, input: CaImport): Promise<CaSummary> {
    this.#require(actor, 'ca.manage');
    let key: KeyObject;
    let certs: Buffer[];
    if ('pkcs12Base64' in input) {
      const p12 = importPkcs12(Buffer.from(input.pkcs12Base64, 'base64'), input.password);
      key = p12.privateKey;
      certs = p12.certificates;
    } else {
      certs = pemBlocks(input.certificateChainPem, 'CERTIFICATE');
      if (isEncryptedKeyPem(input.privateKeyPem))
        throw new ValidationError(
          'The private key PEM is encrypted: import it as PKCS#12 with its password instead',
        );
      try {
        key = createPrivateKey(input.privateKeyPem);
      } catch {
        throw new ValidationError('The private key PEM cannot be read (expected PKCS#8, SEC1 or PKCS#1 PEM)');
      }
    }
    if (certs.length === 0) throw new ValidationError('No certificate found in the chain');
    const spki = spkiOf(createPublicKey(key));
    const own = certs.findIndex((c) => {
      try {
        return certificateParts(c).spki.equals(spki);
      } catch {
        return false;
      }
    });
    if (own < 0) throw new ValidationError('None of the certificates belongs to the private key');
    const chain = [certs[own]!, ...certs.filter((_, i) => i !== own)];
    const parsed = chain.map((c) => new x509.X509Certificate(new Uint8Array(c)));
    const caCert = parsed[0]!;
    const bc = caCert.getExtension(x509.BasicConstraintsExtension);
    const ku = caCert.getExtension(x509.KeyUsagesExtension);
    if (!bc?.ca)
      throw new ValidationError('The certificate is not a CA certificate (basicConstraints cA is not set)');
    if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign))
      throw new ValidationError(
        'The CA certificate does not allow certificate signing (keyUsage keyCertSign)',
      );
    const now = this.#clock.now();
    if (caCert.notAfter <= now || caCert.notBefore > now)
      throw new ValidationError('The CA certificate is not valid now', {
        notBefore: caCert.notBefore.toISOString(),
        notAfter: caCert.notAfter.toISOString(),
      });
    // Each certificate of the chain must be signed by the next one (RFC 5280 §6.1).
    for (let i = 0; i + 1 < parsed.length; i++)
      if (!(await parsed[i]!.verify({ publicKey: parsed[i + 1]!.publicKey, signatureOnly: true })))
        throw new ValidationError(`Certificate ${i + 1} of the chain is not signed by certificate ${i + 2}`);
    const id = randomUUID();
    const rec = this.#caRecord(
      { id, certificateDer: chain[0]!, privateKey: key },
      {
        kind: 'issuing',
        parentId: null,
        chainPem: chain
          .slice(1)
          .map((c) => toPem(c))
          .join(''),
        imported: true,
      },
    );
    await this.#db.transaction(async (tx) => {
      await caRepo.insertCa(tx, rec);
      await caRepo.activateIssuingCa(tx, id);
      await appendAudit(tx, {
        actor: { id: actor.id, name: actor.name },
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
    this.#cas = null;
    await this.#regenerateCrl(id, false);
    return this.#caSummary((await caRepo.getCa(this.#db, id))!, await caRepo.getCrlState(this.#db, id));
  }

  async listCas(): Promise<CaSummary[]> {
    const [cas, crls] = await Promise.all([caRepo.listCas(this.#db), caRepo.listCrlStates(this.#db)]);
    const byCa = new Map(crls.map((c) => [c.caId, c]));
    return cas.map((c) => this.#caSummary(c, byCa.get(c.id) ?? null));
  }

  #caSummary(c: caRepo.CaRecord, crl: caRepo.CrlState | null): CaSummary {
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

  async caCertificate(id: string): Promise<Buffer> {
    const ca = await caRepo.getCa(this.#db, id);
    if (!ca) throw new NotFoundError('CA', id);
    return ca.certificate;
  }

  async caCertificatePem(id: string): Promise<string> {
    return toPem(await this.caCertificate(id));
  }

  /** The CA's certificate followed by the ones above it, as PEM. */
  async caChainPem(id: string): Promise<string> {
    const ca = await caRepo.getCa(this.#db, id);
    if (!ca) throw new NotFoundError('CA', id);
    let pem = toPem(ca.certificate) + ca.chainPem;
    // Our own issuing CA records its root as its parent; an imported one carries its chain.
    if (!ca.chainPem && ca.parentId) {
      const parent = await caRepo.getCa(this.#db, ca.parentId);
      if (parent) pem += toPem(parent.certificate);
    }
    return pem;
  }

  async #loadCas(): Promise<CaCache> {
    const now = Date.now();
    if (this.#cas && now - this.#cas.at < CA_CACHE_MS) return this.#cas;
    const list = await caRepo.listCas(this.#db);
    this.#cas = {
      at: now,
      byId: new Map(list.map((c) => [c.id, c])),
      activeId: list.find((c) => c.kind === 'issuing' && c.active)?.id ?? null,
    };
    return this.#cas;
  }

  async #signer(caId: string): Promise<SigningCa> {
    const cacheKey = `${caId} ${this.#externalUrl}`;
    const cached = this.#signers.get(cacheKey);
    if (cached) return cached;
    const rec = (await this.#loadCas()).byId.get(caId) ?? (await caRepo.getCa(this.#db, caId));
    if (!rec) throw new NotFoundError('CA', caId);
    if (!rec.encryptedKey) throw new ValidationError(`CA ${caId} has no private key here`);
    const key = createPrivateKey({
      key: this.#mk.decrypt(rec.encryptedKey, CA_KEY_PURPOSE(caId)),
      format: 'der',
      type: 'pkcs8',
    });
    const s = signingCa({
      id: caId,
      certificateDer: rec.certificate,
      signer: new SoftSigner(key),
      externalUrl: this.#externalUrl,
    });
    this.#signers.set(cacheKey, s);
    return s;
  }

  async #activeSigner(): Promise<SigningCa> {
    const cas = await this.#loadCas();
    if (!cas.activeId)
      throw new ValidationError('No issuing CA exists yet: the server creates one at start-up');
    return this.#signer(cas.activeId);
  }

  // ---- Issuance ------------------------------------------------------------------------------

  /** Issues from a PKCS#10 request (PEM or DER) whose key algorithm the policy allows. */
  async issueFromCsr(
    actor: PkiActor,
    target: IssueTarget,
    csr: string | Uint8Array,
  ): Promise<CertificateSummary> {
    const parsed = parseCsr(csr);
    return this.#issue(actor, target, parsed.spki, parsed.keyAlgorithm, null);
  }

  /**
   * Issues for a public key generated on a card. Proof of possession is a challenge the card
   * signed with the new key, or a check the caller performs (e.g. a PIV attestation).
   */
  async issueForPublicKey(
    actor: PkiActor,
    target: IssueTarget,
    publicKey: string | Uint8Array,
    proof: SignedChallenge | ((key: KeyObject) => boolean | Promise<boolean>),
  ): Promise<CertificateSummary> {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: pemOrDer(publicKey, ['PUBLIC KEY']), format: 'der', type: 'spki' });
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new ValidationError('The public key cannot be read (expected SubjectPublicKeyInfo, PEM or DER)');
    }
    const ok = typeof proof === 'function' ? await proof(key) : verifyPossession(key, proof);
    if (!ok)
      throw new ValidationError('Proof of possession failed: the challenge was not signed with this key');
    return this.#issue(actor, target, spkiOf(key), keyAlgorithmOf(key), null);
  }

  /**
   * For profiles marked "archive": the server generates the key pair, issues the certificate and
   * stores the private key encrypted under the master key, all in one transaction. Returns the
   * PKCS#8 key for the caller to load onto the card.
   */
  async issueWithArchivedKey(
    actor: PkiActor,
    target: IssueTarget,
  ): Promise<{ certificate: CertificateSummary; privateKeyPkcs8: Buffer }> {
    if (!target.profile.archiveKey)
      throw new ValidationError(
        `Credential profile "${target.profile.name ?? target.profile.certificateProfile}" does not archive keys`,
      );
    const keys = generateKeyPair(target.profile.keyAlgorithm);
    const pkcs8 = keys.privateKey.export({ type: 'pkcs8', format: 'der' });
    const certificate = await this.#issue(
      actor,
      target,
      spkiOf(keys.publicKey),
      target.profile.keyAlgorithm,
      pkcs8,
    );
    return { certificate, privateKeyPkcs8: pkcs8 };
  }

  async #issue(
    actor: PkiActor,
    target: IssueTarget,
    spki: Buffer,
    keyAlgorithm: KeyAlgorithm | null,
    archive: Buffer | null,
  ): Promise<CertificateSummary> {
    const p = target.profile;
    if (!keyAlgorithm)
      throw new ValidationError(
        'The key is of an algorithm Tessera does not issue for (P-256, P-384, RSA 2048-4096)',
      );
    if (keyAlgorithm !== p.keyAlgorithm)
      throw new ValidationError(
        `The policy requires a ${p.keyAlgorithm} key for "${p.name ?? p.certificateProfile}", not ${keyAlgorithm}`,
        { expected: p.keyAlgorithm, got: keyAlgorithm },
      );
    if (!CERTIFICATE_PROFILES[p.certificateProfile])
      throw new ValidationError(`Unknown certificate profile "${String(p.certificateProfile)}"`);
    if (!(Number.isInteger(p.validityDays) && p.validityDays > 0))
      throw new ValidationError('validityDays must be a positive whole number');
    const ca = await this.#activeSigner();
    const caRec = (await this.#loadCas()).byId.get(ca.id);
    const now = truncateToSeconds(this.#clock.now());
    let notAfter = new Date(now.getTime() + p.validityDays * 86_400_000);
    // A certificate never outlives its CA (RFC 5280 §6.1.3 would reject it anyway).
    if (caRec && notAfter > caRec.notAfter) notAfter = caRec.notAfter;
    const subject = renderSubject(this.#cfg.subjectTemplate, target.user);
    const ec = isEcKey(keyAlgorithm);
    const tplKey = `${ca.id}:${ca.urls.ocsp}:${p.certificateProfile}:${ec}`;
    let tpl = this.#templates.get(tplKey);
    if (!tpl) {
      tpl = new CompiledProfile(ca, p.certificateProfile, ec, { policies: this.#cfg.certificatePolicies });
      this.#templates.set(tplKey, tpl);
    }
    const sans = subjectAltNamesFor(
      p.certificateProfile,
      target.user,
      target.cardUuid ?? target.deviceId ?? null,
    );
    const id = randomUUID();
    for (let attempt = 0; ; attempt++) {
      const serial = randomSerial();
      const der = await tpl.issue({
        profile: p.certificateProfile,
        serial,
        notBefore: now,
        notAfter,
        subject,
        subjectAltNames: sans,
        spki,
        ecKey: ec,
      });
      const rec: certRepo.NewCertificate = {
        id,
        caId: ca.id,
        serial: serialHex(serial),
        userId: target.user.id,
        deviceId: target.deviceId ?? null,
        credentialId: target.credentialId ?? null,
        profile: p.certificateProfile,
        slot: p.slot ?? CERTIFICATE_PROFILES[p.certificateProfile].slot,
        subject: subjectString(subject),
        keyAlgorithm,
        notBefore: now,
        notAfter,
        der,
      };
      try {
        await this.#write({
          rec,
          archived: archive ? this.#mk.encrypt(archive, ARCHIVED_KEY_PURPOSE(id)) : null,
          audit: {
            actor: { id: actor.id, name: actor.name },
            action: 'certificate.issued',
            targetType: 'certificate',
            targetId: id,
            details: {
              serial: rec.serial,
              caId: ca.id,
              profile: rec.profile,
              subject: rec.subject,
              keyAlgorithm,
              userId: rec.userId,
              deviceId: rec.deviceId,
              credentialId: rec.credentialId,
              keyArchived: archive !== null,
            },
            correlationId: actor.correlationId ?? null,
            at: now,
          },
          at: now,
        });
      } catch (err) {
        // A serial collision (2^-127 odds) is retried with a fresh serial; anything else propagates.
        if (
          (err as { code?: string }).code === '23505' &&
          attempt < 2 &&
          /serial/.test(String((err as Error).message))
        )
          continue;
        throw err;
      }
      return summary({
        ...rec,
        status: 'valid',
        revocationReason: null,
        revokedAt: null,
        createdAt: now,
        updatedAt: now,
      });
    }
  }

  /**
   * Group commit for issuance: certificates signed while a write is in flight queue up and go to
   * the database together — one transaction, one multi-row INSERT, one audit-chain lock — so the
   * rate is not bound by one commit (and its fsync) per certificate. Each certificate still
   * commits together with its own audit event. If a group fails, its members are retried one by
   * one, so one bad row never takes the others down.
   */
  #write(item: Omit<PendingWrite, 'resolve' | 'reject'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...item, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length) {
        const group = this.#queue.splice(0, MAX_WRITE_GROUP);
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

  #writeGroup(group: readonly PendingWrite[]): Promise<void> {
    return this.#db.transaction(async (tx) => {
      await certRepo.insertCertificates(
        tx,
        group.map((g) => g.rec),
        group[0]!.at,
      );
      for (const g of group) {
        if (g.rec.credentialId) await setCredentialCertificate(tx, g.rec.credentialId, g.rec.serial, g.at);
        if (g.archived) await certRepo.archiveKey(tx, g.rec.id, g.archived);
      }
      await appendAuditEvents(
        tx,
        group.map((g) => g.audit),
      );
    });
  }

  // ---- Key recovery --------------------------------------------------------------------------

  /**
   * Recovers an archived key: as PKCS#8 (to load onto a new device) or as a PKCS#12 protected by
   * a one-time password returned once. The audit event names who recovered it and for what.
   */
  async recoverKey(
    actor: PkiActor,
    certificateId: string,
    opts: { format: 'pkcs8' | 'pkcs12'; targetDeviceId?: string | null; reason?: string },
  ): Promise<RecoveredKey> {
    this.#require(actor, 'key.recover');
    const now = this.#clock.now();
    const { cert, blob } = await this.#db.transaction(async (tx) => {
      const cert = await certRepo.getCertificate(tx, certificateId);
      if (!cert) throw new NotFoundError('certificate', certificateId);
      const taken = await certRepo.takeArchivedKey(tx, certificateId, now);
      if (!taken) throw new ValidationError('No archived key exists for this certificate');
      await appendAudit(tx, {
        actor: { id: actor.id, name: actor.name },
        action: 'certificate.key_recovered',
        targetType: 'certificate',
        targetId: certificateId,
        details: {
          serial: cert.serial,
          recoveredBy: actor.name,
          format: opts.format,
          targetDeviceId: opts.targetDeviceId ?? null,
          reason: opts.reason ?? null,
          recoveryNumber: taken.recoveredCount,
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
      return { cert, blob: taken.encryptedKey };
    });
    const pkcs8 = this.#mk.decrypt(blob, ARCHIVED_KEY_PURPOSE(certificateId));
    if (opts.format === 'pkcs8') return { format: 'pkcs8', pkcs8 };
    const password = oneTimePassword();
    const chain = pemBlocks(await this.caChainPem(cert.caId), 'CERTIFICATE');
    const pkcs12 = exportPkcs12({
      privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
      certificates: [cert.der, ...chain],
      password,
      friendlyName: cert.subject,
    });
    return { format: 'pkcs12', pkcs12, password };
  }

  // ---- Status ----------------------------------------------------------------------------------

  async suspend(actor: PkiActor, certificateId: string): Promise<CertificateSummary> {
    this.#require(actor, 'certificate.suspend');
    return this.#changeStatus(actor, certificateId, 'suspend', 'certificateHold');
  }

  async reinstate(actor: PkiActor, certificateId: string): Promise<CertificateSummary> {
    this.#require(actor, 'certificate.suspend');
    return this.#changeStatus(actor, certificateId, 'reinstate', null);
  }

  async revoke(
    actor: PkiActor,
    certificateId: string,
    reason: RevocationReason,
  ): Promise<CertificateSummary> {
    this.#require(actor, 'certificate.revoke');
    if (!isRevocationReason(reason))
      throw new ValidationError(`Unknown revocation reason "${String(reason)}"`, { reason });
    return this.#changeStatus(actor, certificateId, 'revoke', reason);
  }

  async #changeStatus(
    actor: PkiActor,
    certificateId: string,
    action: 'suspend' | 'reinstate' | 'revoke',
    reason: CrlReason | null,
  ): Promise<CertificateSummary> {
    const now = truncateToSeconds(this.#clock.now());
    const updated = await this.#db.transaction(async (tx) => {
      const cert = await certRepo.getCertificate(tx, certificateId, { forUpdate: true });
      if (!cert) throw new NotFoundError('certificate', certificateId);
      const to = must(credentialTransition(cert.status, action));
      const revokedAt = action === 'reinstate' ? null : now;
      await certRepo.setStatus(tx, cert.id, { status: to, revocationReason: reason, revokedAt, at: now });
      if (cert.credentialId) await certRepo.setCredentialStatus(tx, cert.credentialId, to, now);
      await caRepo.markCrlStale(tx, cert.caId);
      await appendAudit(tx, {
        actor: { id: actor.id, name: actor.name },
        action: `certificate.${action === 'suspend' ? 'suspended' : action === 'reinstate' ? 'reinstated' : 'revoked'}`,
        targetType: 'certificate',
        targetId: cert.id,
        details: {
          serial: cert.serial,
          caId: cert.caId,
          from: cert.status,
          to,
          reason,
          credentialId: cert.credentialId,
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
      return { ...cert, status: to, revocationReason: reason, revokedAt, updatedAt: now };
    });
    // The CRL follows at once (OCSP reads the row directly and is already current).
    await this.#regenerateCrl(updated.caId, false);
    return summary(updated);
  }

  // ---- CRL ---------------------------------------------------------------------------------------

  /** The CA's current CRL (DER), re-signed first when it is missing or past half its validity. */
  async currentCrl(caId: string): Promise<Buffer> {
    const state = await caRepo.getCrlState(this.#db, caId);
    if (!state) throw new NotFoundError('CA', caId);
    if (state.crl && !this.#crlDue(state)) return state.crl;
    return this.#regenerateCrl(caId, true);
  }

  #crlDue(s: caRepo.CrlState): boolean {
    if (s.stale || !s.crl || !s.thisUpdate || !s.nextUpdate) return true;
    const half = s.thisUpdate.getTime() + (s.nextUpdate.getTime() - s.thisUpdate.getTime()) / 2;
    return this.#clock.now().getTime() >= half;
  }

  /** Re-signs each CA's CRL that is due (scheduler tick); returns the ids refreshed. */
  async refreshCrls(): Promise<string[]> {
    const done: string[] = [];
    for (const s of await caRepo.listCrlStates(this.#db)) {
      if (!this.#crlDue(s)) continue;
      const ca = await caRepo.getCa(this.#db, s.caId);
      if (!ca?.encryptedKey) continue;
      await this.#regenerateCrl(s.caId, true);
      done.push(s.caId);
    }
    return done;
  }

  /**
   * Re-signs the CRL on a timer so relying parties never see it lapse. Returns a stop function.
   * Errors are reported through `onError` and the timer keeps running.
   */
  startCrlScheduler(opts: { intervalMs?: number; onError?: (err: unknown) => void } = {}): () => void {
    const timer = setInterval(() => {
      this.refreshCrls().catch((err) => opts.onError?.(err));
    }, opts.intervalMs ?? 60_000);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Builds and stores the next CRL under the CA's CRL row lock, so concurrent writers take turns
   * and numbers strictly increase. With onlyIfDue, a writer that waited finds the fresh CRL and
   * returns it instead of signing another.
   */
  async #regenerateCrl(caId: string, onlyIfDue: boolean): Promise<Buffer> {
    const signer = await this.#signer(caId);
    return this.#db.transaction(async (tx: Queryable) => {
      const [locked] = await tx.query<{
        crl: Uint8Array | null;
        this_update: Date | null;
        next_update: Date | null;
        stale: boolean;
      }>('SELECT crl, this_update, next_update, stale FROM ca_crls WHERE ca_id = $1 FOR UPDATE', [caId]);
      if (!locked) throw new NotFoundError('CA', caId);
      if (
        onlyIfDue &&
        locked.crl &&
        !this.#crlDue({
          caId,
          crlNumber: 0,
          stale: locked.stale,
          crl: Buffer.from(locked.crl),
          thisUpdate: locked.this_update ? new Date(locked.this_update) : null,
          nextUpdate: locked.next_update ? new Date(locked.next_update) : null,
        })
      )
        return Buffer.from(locked.crl);
      const now = truncateToSeconds(this.#clock.now());
      const nextUpdate = new Date(now.getTime() + this.#cfg.crlValidityHours * 3_600_000);
      const number = await caRepo.reserveCrlNumber(tx, caId);
      const entries = (await certRepo.listRevokedForCrl(tx, caId, now)).map((e) => ({
        serialHex: e.serial,
        revokedAt: e.revokedAt,
        reason: e.reason as CrlReason,
      }));
      const der = await buildCrl(signer, { crlNumber: number, thisUpdate: now, nextUpdate, entries });
      await caRepo.saveCrl(tx, caId, { thisUpdate: now, nextUpdate, der });
      return der;
    });
  }

  // ---- OCSP --------------------------------------------------------------------------------------

  /** Answers a DER OCSP request (RFC 6960); never throws. */
  async ocspRespond(der: Uint8Array): Promise<Buffer> {
    let cas: SigningCa[];
    try {
      const list = await this.#loadCas();
      cas = [];
      for (const c of list.byId.values()) if (c.encryptedKey) cas.push(await this.#signer(c.id));
    } catch {
      cas = [];
    }
    return respondOcsp(der, {
      cas,
      now: this.#clock.now(),
      validitySeconds: this.#cfg.ocspValiditySeconds,
      lookup: (caId, serial) => this.#ocspStatus(caId, serial),
    });
  }

  async #ocspStatus(caId: string, serial: string): Promise<OcspStatus> {
    const row = await certRepo.findBySerial(this.#db, caId, serial);
    if (row) {
      if (row.status === 'valid') return { status: 'good' };
      return {
        status: 'revoked',
        revokedAt: row.revokedAt ?? new Date(0),
        reason: (row.revocationReason ?? 'unspecified') as CrlReason,
      };
    }
    // A subordinate CA certificate this CA issued (our own issuing CA under our root).
    const sub = [...(await this.#loadCas()).byId.values()].find(
      (c) => c.parentId === caId && c.serial === serial,
    );
    return sub ? { status: 'good' } : { status: 'unknown' };
  }

  // ---- Queries -----------------------------------------------------------------------------------

  async search(q: certRepo.CertificateQuery): Promise<{ items: CertificateSummary[]; total: number }> {
    const r = await certRepo.searchCertificates(this.#db, q);
    return { items: r.items.map(summary), total: r.total };
  }

  async get(id: string): Promise<CertificateDetail> {
    const r = await certRepo.getCertificate(this.#db, id);
    if (!r) throw new NotFoundError('certificate', id);
    return { ...summary(r), pem: toPem(r.der), ...describeCertificate(r.der) };
  }

  async pem(id: string): Promise<string> {
    const r = await certRepo.getCertificate(this.#db, id);
    if (!r) throw new NotFoundError('certificate', id);
    return toPem(r.der);
  }

  #require(actor: PkiActor, permission: Permission): void {
    if (!can(actor.roles, permission))
      throw new ForbiddenError(`This needs the permission "${permission}"`, { permission });
  }
}

/** A one-time PKCS#12 password: 20 characters from an alphabet without look-alikes (~100 bits). */
function oneTimePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < 20)
    for (const b of randomBytes(32)) {
      // Rejection sampling keeps every character equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < 20) out += alphabet[b % alphabet.length];
    }
  return out;
}
