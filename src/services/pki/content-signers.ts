// The PIV content signer of each issuing CA (FIPS 201-3 §4.2.1): a key of its own, certified by the
// issuing CA for id-PIV-content-signing only, that signs every card's CHUID and Security Object at
// issuance. Its private key stays on the server (sealed by the CA key store, like a CA key) and
// never goes onto a card. It is rotated like any signing key: a new one after a year of use, on an
// administrator's request, or when the current one would expire before a card it is asked to sign
// (a relying party checks the signature against the certificate's validity). Retired signers stay
// listed; their certificates stay in the CA's CRL and OCSP like any other.
//
// Each server keeps the active signer it read (one read per card was ~4% of an issuance's SQL
// statements, issue #20). What makes it wrong is said on the bus and drops it on every server at
// once: a rotation ('cache' 'content-signer', said after its commit), a status change of its
// certificate (the OCSP word), a LISTEN connection that came back (words may have been missed).
// Without word it is read again after ACTIVE_CACHE_MS, and one that looks due is read again
// before a new one is made (another server may have made it already). That second read is made
// under the CA's row lock, taken before the key is generated: two servers finding it due at once
// make one signer — the second waits, finds the first's fresh one and uses it (issue #20).
import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../domain/errors.js';
import type { KeyAlgorithm } from '../../pki/algorithms.js';
import { signContentSigner } from '../../pki/ca-builder.js';
import type { ContentSigning } from '../../pki/piv-signed-data.js';
import { randomSerial, serialHex } from '../../pki/serial.js';
import type { Signer } from '../../pki/signer.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import { subjectString, type RenderedAttribute } from '../../pki/subject.js';
import { appendAudit } from '../../store/audit-repo.js';
import { insertCertificates } from '../../store/certificate-repo.js';
import {
  findContentSignerByCertificate,
  getActiveContentSigner,
  insertContentSigner,
  listContentSigners,
  lockCaForContentSigner,
  retireContentSigners,
  type ContentSignerRecord,
} from '../../store/content-signer-repo.js';
import type { Db } from '../../store/db.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { CaKeyStore } from './ca-keys.js';

/** How long one content-signing key is used before a new one takes over (SP 800-57 Pt 1 §5.3.6). */
const USE_PERIOD_DAYS = 365;
/** The certificate outlives the use period so the cards it signed stay verifiable (CA permitting). */
const CERTIFICATE_YEARS = 6;

export interface ContentSignerSummary {
  certificateId: string;
  caId: string;
  serial: string;
  subject: string;
  notAfter: string;
  createdAt: string;
  active: boolean;
  status: string;
}

/** A content signer ready to sign, with the chain a verifier needs above it. */
export interface ReadyContentSigner extends ContentSigning {
  certificateId: string;
  caId: string;
  /** The issuing CA's certificate (DER). */
  issuingCaDer: Buffer;
}

export interface IssuingCas {
  active(): Promise<{ ca: SigningCa; record: { notAfter: Date } }>;
  signer(caId: string): Promise<SigningCa>;
}

const DAY = 86_400_000;
/** How long a server uses the active signer it read without hearing anything (the fallback). */
const ACTIVE_CACHE_MS = 30_000;

export class ContentSigners {
  readonly #open = new Map<string, Promise<Signer>>();
  /** The active signer of each CA as last read, and when (performance.now(), monotonic). */
  readonly #active = new Map<string, { rec: ContentSignerRecord; at: number }>();
  /** Bumped by every forget: a read that began before it does not keep what it read. */
  #generation = 0;

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      keys: CaKeyStore;
      cas: IssuingCas;
      organization: string;
      /** Key algorithm of a new content signer (an existing one signs on until it is replaced). */
      algorithm: KeyAlgorithm;
      /** Called after a new signer's commit: tell the other servers (pki.ts says it on the bus). */
      onRotated?: (caId: string) => void;
    },
  ) {}

  /**
   * The active issuing CA's content signer for a card valid until `cardExpires`: the current one,
   * or a new one when there is none, it is past its use period, revoked, or expires first.
   */
  async forCard(actor: Actor, cardExpires: Date): Promise<ReadyContentSigner> {
    const { ca, record } = await this.deps.cas.active();
    const now = this.deps.clock.now();
    const stale = (s: ContentSignerRecord) =>
      s.status !== 'valid' ||
      now.getTime() - s.createdAt.getTime() > USE_PERIOD_DAYS * DAY ||
      // Only worth replacing when the CA allows a later one.
      (s.notAfter < cardExpires && s.notAfter < record.notAfter);
    let current = this.#kept(ca.id);
    // Kept and due: read again first (another server may have replaced it; its word may be on the way).
    if (!current || stale(current)) current = await this.#read(ca.id);
    if (!current || stale(current)) current = await this.#create(actor, ca, record.notAfter, stale);
    return this.#ready(current, ca);
  }

  /** Drops every kept signer: the next card reads the active one again. */
  forget(): void {
    this.#generation++;
    this.#active.clear();
  }

  /** A certificate's status changed (revoked, suspended…): a kept signer it concerns is dropped. */
  statusChanged(change: { caId: string; serial: string | null }): void {
    const kept = this.#active.get(change.caId);
    if (kept && (change.serial === null || kept.rec.serial === change.serial)) this.forget();
  }

  #kept(caId: string): ContentSignerRecord | null {
    const kept = this.#active.get(caId);
    if (!kept || performance.now() - kept.at >= ACTIVE_CACHE_MS) return null;
    return kept.rec;
  }

  /** The CA's active signer as the database has it now, kept unless word came meanwhile. */
  async #read(caId: string): Promise<ContentSignerRecord | null> {
    const generation = this.#generation;
    const at = performance.now();
    const rec = await getActiveContentSigner(this.deps.db, caId);
    if (rec && generation === this.#generation) this.#active.set(caId, { rec, at });
    return rec;
  }

  /** An administrator's rotation: a new signer for the active issuing CA; the old one retires. */
  async rotate(actor: Actor): Promise<ContentSignerSummary> {
    const { ca, record } = await this.deps.cas.active();
    return summary(await this.#create(actor, ca, record.notAfter, 'requested'));
  }

  async list(caId?: string): Promise<ContentSignerSummary[]> {
    const id = caId ?? (await this.deps.cas.active()).ca.id;
    return (await listContentSigners(this.deps.db, id)).map(summary);
  }

  /**
   * Whether a certificate found on a card is one of Tessera's content signers, and still in good
   * standing (a revoked signer's signatures are not to be trusted).
   */
  async trust(certificateDer: Uint8Array): Promise<{ trusted: boolean; why: string | null }> {
    const s = await findContentSignerByCertificate(this.deps.db, certificateDer);
    if (!s) return { trusted: false, why: 'the signer is not a content signer of this Tessera' };
    if (s.status !== 'valid') return { trusted: false, why: `the content signer is ${s.status}` };
    return { trusted: true, why: null };
  }

  async #ready(rec: ContentSignerRecord, ca: SigningCa): Promise<ReadyContentSigner> {
    let signer = this.#open.get(rec.certificateId);
    if (!signer) {
      signer = this.deps.keys.open(rec.certificateId, rec.encryptedKey);
      this.#open.set(rec.certificateId, signer);
    }
    return {
      signer: await signer,
      certificateDer: rec.der,
      certificateId: rec.certificateId,
      caId: ca.id,
      issuingCaDer: ca.certificateDer,
    };
  }

  /**
   * A new signer for the CA, the old one retired — or, when `due` is given (a card's rotation, not
   * an administrator's), the active one if another server replaced it meanwhile. The CA's row is
   * locked first (the order of the CA's other transactions), and "still due?" is decided under it
   * before any key is generated, so servers finding it due at once make one signer, not one each.
   * The key is generated inside the transaction (as the CA's and OCSP responder's are): nothing in
   * it uses this.deps.db, so PGlite's one connection is not asked twice.
   */
  async #create(
    actor: Actor,
    ca: SigningCa,
    caNotAfter: Date,
    due: ((s: ContentSignerRecord) => boolean) | 'requested',
  ): Promise<ContentSignerRecord> {
    const id = randomUUID();
    const generation = this.#generation;
    const made = await this.deps.db.transaction(async (tx) => {
      await lockCaForContentSigner(tx, ca.id);
      if (due !== 'requested') {
        const again = await getActiveContentSigner(tx, ca.id);
        if (again && !due(again)) return { fresh: again };
      }
      const now = this.deps.clock.now();
      let notAfter = new Date(now.getTime() + CERTIFICATE_YEARS * 365 * DAY);
      if (notAfter > caNotAfter) notAfter = caNotAfter;
      if (notAfter <= now)
        throw new ValidationError('The issuing CA has expired: it cannot certify a content signer');
      const key = await this.deps.keys.generate(id, this.deps.algorithm);
      const name: RenderedAttribute[] = [
        ...(this.deps.organization ? [{ type: 'O' as const, value: this.deps.organization }] : []),
        { type: 'CN', value: `PIV Content Signer ${now.toISOString().slice(0, 10)}` },
      ];
      const serial = randomSerial();
      const der = await signContentSigner(ca, {
        name,
        spki: key.signer.spki,
        notBefore: now,
        notAfter,
        serial,
      });
      await retireContentSigners(tx, ca.id, now);
      await insertCertificates(
        tx,
        [
          {
            id,
            caId: ca.id,
            serial: serialHex(serial),
            userId: null,
            deviceId: null,
            credentialId: null,
            profile: 'piv_content_signing',
            slot: null,
            subject: subjectString(name),
            keyAlgorithm: this.deps.algorithm,
            notBefore: now,
            notAfter,
            der,
          },
        ],
        now,
      );
      await insertContentSigner(tx, { certificateId: id, caId: ca.id, encryptedKey: key.sealed, at: now });
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'pki.content_signer_created',
        targetType: 'certificate',
        targetId: id,
        details: {
          caId: ca.id,
          serial: serialHex(serial),
          notAfter: notAfter.toISOString(),
          reason: due === 'requested' ? 'requested' : 'due',
        },
        correlationId: actor.correlationId ?? null,
        at: now,
      });
      return { signer: key.signer };
    });
    if (made.fresh) {
      // Another server made it while this one waited: use it (kept unless word came meanwhile).
      if (generation === this.#generation)
        this.#active.set(ca.id, { rec: made.fresh, at: performance.now() });
      return made.fresh;
    }
    this.#open.set(id, Promise.resolve(made.signer));
    // Every server drops the signer it kept (this one too, then keeps the new one as read now).
    this.forget();
    this.deps.onRotated?.(ca.id);
    return (await this.#read(ca.id))!;
  }
}

function summary(s: ContentSignerRecord): ContentSignerSummary {
  return {
    certificateId: s.certificateId,
    caId: s.caId,
    serial: s.serial,
    subject: s.subject,
    notAfter: s.notAfter.toISOString(),
    createdAt: s.createdAt.toISOString(),
    active: s.active,
    status: s.status,
  };
}
