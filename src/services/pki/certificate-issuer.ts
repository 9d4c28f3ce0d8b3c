// Issuing certificates, three ways: from a PKCS#10 request, for a public key a card generated
// (with proof of possession), and for a key the server generates and archives. The person's
// record makes the subject (the CSR's own subject is ignored), the credential profile makes the
// key algorithm, extensions and validity, and the active issuing CA signs through a profile
// compiled once (pki/cert-template.ts). Each certificate is stored with its audit event, its
// credential (made or linked) and its archived key in one commit (store/certificate-writer.ts).
import { KeyObject, randomUUID } from 'node:crypto';
import { ValidationError } from '../../domain/errors.js';
import {
  generateKeyPair,
  isEcKey,
  keyAlgorithmOf,
  publicKeyFromSpki,
  spkiOf,
  type KeyAlgorithm,
} from '../../pki/algorithms.js';
import { CompiledProfile } from '../../pki/cert-template.js';
import { parseCsr } from '../../pki/csr.js';
import { subjectAltNamesFor, truncateToSeconds } from '../../pki/leaf.js';
import { pemOrDer } from '../../pki/pem.js';
import { verifyPossession, type SignedChallenge } from '../../pki/possession.js';
import { CERTIFICATE_PROFILES, type CertificateProfileName } from '../../pki/profiles.js';
import { randomSerial, serialHex } from '../../pki/serial.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import {
  renderSubject,
  subjectString,
  type SubjectAttributeTemplate,
  type SubjectPerson,
} from '../../pki/subject.js';
import { isUniqueViolation } from '../../store/sql.js';
import type { CertificateWrite } from '../../store/certificate-writer.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import { certificateSummary, type CertificateSummary } from './certificate-views.js';
import type { KeyArchive } from './key-archive.js';
import type { CertificatePolicies } from './pki-config.js';

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
  /** The person's existing credential the certificate is for (it gets the new serial). */
  credentialId?: string | null;
  /**
   * Or: the certificate makes a new credential of its person on its device (an issuance's key),
   * written in the certificate's own commit — never a credential without its certificate.
   */
  newCredential?: { policyId: string | null; profile: string } | null;
  /** Card UUID for the SAN URI (FIPS 201-3 §4.2.1); defaults to the device id. */
  cardUuid?: string | null;
  /** The card's FASC-N (25 bytes) for the pivFASC-N otherName of profiles that carry it. */
  fascn?: Uint8Array | null;
}

/** The CA that signs new certificates, and until when it is valid. */
export interface ActiveCa {
  active(): Promise<{ ca: SigningCa; record: { notAfter: Date } }>;
}

export interface CertificateStore {
  write(w: CertificateWrite): Promise<void>;
}

export class CertificateIssuer {
  readonly #templates = new Map<string, CompiledProfile>();

  constructor(
    private readonly deps: {
      cas: ActiveCa;
      store: CertificateStore;
      archive: Pick<KeyArchive, 'seal'>;
      clock: Clock;
      subjectTemplate: readonly SubjectAttributeTemplate[];
      certificatePolicies: CertificatePolicies;
    },
  ) {}

  /** Issues from a PKCS#10 request (PEM or DER) whose key algorithm the policy allows. */
  async issueFromCsr(
    actor: Actor,
    target: IssueTarget,
    csr: string | Uint8Array,
  ): Promise<CertificateSummary> {
    const parsed = parseCsr(csr);
    return (await this.#issue(actor, target, parsed.spki, parsed.keyAlgorithm, null)).summary;
  }

  /**
   * Issues for a public key generated on a card. Proof of possession is a challenge the card
   * signed with the new key, or a check the caller performs (e.g. a PIV attestation).
   */
  async issueForPublicKey(
    actor: Actor,
    target: IssueTarget,
    publicKey: string | Uint8Array | KeyObject,
    proof: SignedChallenge | ((key: KeyObject) => boolean | Promise<boolean>),
  ): Promise<CertificateSummary> {
    return (await this.issueForPublicKeyWithDer(actor, target, publicKey, proof)).summary;
  }

  /**
   * issueForPublicKey, with the certificate's DER: a card issuance writes it without reading it back.
   * `publicKey` may be the KeyObject the card's answer was read into (an issuance run hands it
   * over): importing a key checks its point on the curve, ~0.1 ms in OpenSSL, and the card's key
   * was already checked once when it was read (`npm run bench -- agents`).
   */
  async issueForPublicKeyWithDer(
    actor: Actor,
    target: IssueTarget,
    publicKey: string | Uint8Array | KeyObject,
    proof: SignedChallenge | ((key: KeyObject) => boolean | Promise<boolean>),
  ): Promise<{ summary: CertificateSummary; der: Uint8Array }> {
    let key: KeyObject;
    if (isKeyObject(publicKey)) {
      if (publicKey.type !== 'public') throw new ValidationError('Only a public key is certified');
      key = publicKey;
    } else
      try {
        key = publicKeyFromSpki(pemOrDer(publicKey, ['PUBLIC KEY']));
      } catch (err) {
        if (err instanceof ValidationError) throw err;
        throw new ValidationError(
          'The public key cannot be read (expected SubjectPublicKeyInfo, PEM or DER)',
        );
      }
    const ok = typeof proof === 'function' ? await proof(key) : verifyPossession(key, proof);
    if (!ok)
      throw new ValidationError('Proof of possession failed: the challenge was not signed with this key');
    return this.#issue(actor, target, spkiOf(key), keyAlgorithmOf(key), null);
  }

  /**
   * For profiles marked "archive": the server generates the key pair, issues the certificate and
   * stores the private key encrypted, in one commit. Returns the PKCS#8 key for the caller to load
   * onto the card.
   */
  async issueWithArchivedKey(
    actor: Actor,
    target: IssueTarget,
  ): Promise<{ certificate: CertificateSummary; privateKeyPkcs8: Buffer }> {
    if (!target.profile.archiveKey)
      throw new ValidationError(
        `Credential profile "${target.profile.name ?? target.profile.certificateProfile}" does not archive keys`,
      );
    const keys = generateKeyPair(target.profile.keyAlgorithm);
    const pkcs8 = keys.privateKey.export({ type: 'pkcs8', format: 'der' });
    const { summary } = await this.#issue(
      actor,
      target,
      spkiOf(keys.publicKey),
      target.profile.keyAlgorithm,
      pkcs8,
    );
    return { certificate: summary, privateKeyPkcs8: pkcs8 };
  }

  async #issue(
    actor: Actor,
    target: IssueTarget,
    spki: Buffer,
    keyAlgorithm: KeyAlgorithm | null,
    archive: Buffer | null,
  ): Promise<{ summary: CertificateSummary; der: Uint8Array }> {
    const p = target.profile;
    checkProfile(p, keyAlgorithm);
    const { ca, record } = await this.deps.cas.active();
    const now = truncateToSeconds(this.deps.clock.now());
    let notAfter = new Date(now.getTime() + p.validityDays * 86_400_000);
    // A certificate never outlives its CA (RFC 5280 §6.1.3 would reject it anyway).
    if (notAfter > record.notAfter) notAfter = record.notAfter;
    const subject = renderSubject(this.deps.subjectTemplate, target.user);
    const ec = isEcKey(keyAlgorithm);
    const template = this.#template(ca, p.certificateProfile, ec);
    const sans = subjectAltNamesFor(p.certificateProfile, target.user, {
      uuid: target.cardUuid ?? target.deviceId ?? null,
      fascn: target.fascn ?? null,
    });
    const id = randomUUID();
    const credentialId = target.newCredential ? newCredentialId(target) : (target.credentialId ?? null);
    for (let attempt = 0; ; attempt++) {
      const serial = randomSerial();
      const der = await template.issue({
        profile: p.certificateProfile,
        serial,
        notBefore: now,
        notAfter,
        subject,
        subjectAltNames: sans,
        spki,
        ecKey: ec,
        sid: target.user.sid ?? null,
      });
      const certificate = {
        id,
        caId: ca.id,
        serial: serialHex(serial),
        userId: target.user.id,
        deviceId: target.deviceId ?? null,
        credentialId,
        profile: p.certificateProfile,
        slot: p.slot ?? CERTIFICATE_PROFILES[p.certificateProfile].slot,
        subject: subjectString(subject),
        keyAlgorithm,
        notBefore: now,
        notAfter,
        der,
      };
      try {
        await this.deps.store.write({
          certificate,
          archivedKey: archive ? this.deps.archive.seal(id, archive) : null,
          newCredential: target.newCredential ?? null,
          audit: {
            actor: auditActor(actor),
            action: 'certificate.issued',
            targetType: 'certificate',
            targetId: id,
            details: {
              serial: certificate.serial,
              caId: ca.id,
              profile: certificate.profile,
              subject: certificate.subject,
              keyAlgorithm,
              userId: certificate.userId,
              deviceId: certificate.deviceId,
              credentialId: certificate.credentialId,
              keyArchived: archive !== null,
            },
            correlationId: actor.correlationId ?? null,
            at: now,
          },
          at: now,
        });
      } catch (err) {
        // A serial collision (2^-127 odds) is retried with a fresh serial; anything else propagates.
        if (isUniqueViolation(err) && attempt < 2 && /serial/.test(String((err as Error).message))) continue;
        throw err;
      }
      return {
        summary: certificateSummary({
          ...certificate,
          status: 'valid',
          revocationReason: null,
          revokedAt: null,
        }),
        der,
      };
    }
  }

  /** The profile compiled for this CA (and its current URLs) and subject key kind, made once. */
  #template(ca: SigningCa, profile: CertificateProfileName, ec: boolean): CompiledProfile {
    const key = `${ca.id}:${ca.urls.ocsp}:${profile}:${ec}`;
    let t = this.#templates.get(key);
    if (!t) {
      t = new CompiledProfile(ca, profile, ec, { policies: this.deps.certificatePolicies[profile] });
      this.#templates.set(key, t);
    }
    return t;
  }
}

/** The request must match the credential profile: its key algorithm, a known profile, a validity. */
function checkProfile(p: IssueTarget['profile'], keyAlgorithm: KeyAlgorithm | null): asserts keyAlgorithm {
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
}

/** The id of the credential a certificate makes: it needs a person and a device, and no other credential. */
function newCredentialId(target: IssueTarget): string {
  if (target.credentialId)
    throw new ValidationError('A certificate either makes a new credential or is for an existing one');
  if (!target.user.id || !target.deviceId)
    throw new ValidationError('A new credential needs its person and its device');
  return randomUUID();
}

function isKeyObject(k: string | Uint8Array | KeyObject): k is KeyObject {
  return k instanceof KeyObject;
}
