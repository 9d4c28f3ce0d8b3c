// Each CA's delegated OCSP responder (pki/ocsp-signer-cert.ts): made on first use, kept in memory,
// and replaced once half of its life has passed — long before it lapses, and long before any answer
// it signed does (answers live an hour, responders days). The key is generated and sealed by the CA
// key store, like a CA key; several servers renewing at once make one certificate (advisory lock).
import { randomUUID } from 'node:crypto';
import type { KeyAlgorithm } from '../../pki/algorithms.js';
import {
  issueOcspSignerCertificate,
  ocspSigningKey,
  type OcspSigningKey,
} from '../../pki/ocsp-signer-cert.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import { toArrayBuffer } from '../../pki/der.js';
import { x509 } from '../../pki/x509-lib.js';
import type { Db } from '../../store/db.js';
import {
  insertOcspSigner,
  lockOcspSignerRollover,
  newestOcspSigner,
  type OcspSignerRecord,
} from '../../store/ocsp-signer-repo.js';
import type { Clock } from '../context.js';
import type { CaKeyStore } from './ca-keys.js';

/** Responders start a minute early so a relying party whose clock lags still accepts them. */
const BACKDATE_MS = 60_000;

/** Past half of its life a responder is replaced. */
function renewAt(r: Pick<OcspSignerRecord, 'notBefore' | 'notAfter'>): number {
  return r.notBefore.getTime() + (r.notAfter.getTime() - r.notBefore.getTime()) / 2;
}

export class OcspSigners {
  readonly #current = new Map<string, OcspSigningKey & { renewAt: number }>();
  readonly #loading = new Map<string, Promise<OcspSigningKey>>();

  constructor(
    private readonly deps: {
      db: Db;
      keys: Pick<CaKeyStore, 'generate' | 'open'>;
      clock: Clock;
      algorithm: KeyAlgorithm;
      validityHours: number;
      /** A CA's responder changed: answers signed by the previous one should be let go. */
      onRollover?: (caId: string) => void;
    },
  ) {}

  /** The key that signs OCSP answers about `ca`'s certificates, renewed first when due. */
  forCa(ca: SigningCa): Promise<OcspSigningKey> {
    const c = this.#current.get(ca.id);
    if (c && this.deps.clock.now().getTime() < c.renewAt) return Promise.resolve(c);
    // One load per CA at a time: a burst of requests waits for the same renewal.
    let p = this.#loading.get(ca.id);
    if (!p) {
      p = this.#load(ca).finally(() => this.#loading.delete(ca.id));
      this.#loading.set(ca.id, p);
    }
    return p;
  }

  /** Renews every given CA's responder that is due (scheduler tick); returns the CA ids renewed. */
  async refreshDue(cas: readonly SigningCa[]): Promise<string[]> {
    const done: string[] = [];
    for (const ca of cas) {
      const before = this.#current.get(ca.id)?.certificateDer;
      const after = await this.forCa(ca);
      if (before && !before.equals(after.certificateDer)) done.push(ca.id);
    }
    return done;
  }

  async #load(ca: SigningCa): Promise<OcspSigningKey> {
    const now = this.deps.clock.now().getTime();
    let rec = await newestOcspSigner(this.deps.db, ca.id);
    if (!rec || now >= renewAt(rec)) rec = await this.#roll(ca);
    const key = ocspSigningKey(rec.certificate, await this.deps.keys.open(rec.id, rec.encryptedKey));
    const previous = this.#current.get(ca.id);
    this.#current.set(ca.id, { ...key, renewAt: renewAt(rec) });
    if (previous && !previous.certificateDer.equals(key.certificateDer)) this.deps.onRollover?.(ca.id);
    return key;
  }

  #roll(ca: SigningCa): Promise<OcspSignerRecord> {
    return this.deps.db.transaction(async (tx) => {
      await lockOcspSignerRollover(tx);
      const now = this.deps.clock.now().getTime();
      const again = await newestOcspSigner(tx, ca.id);
      if (again && now < renewAt(again)) return again;
      const id = randomUUID();
      const { signer, sealed } = await this.deps.keys.generate(id, this.deps.algorithm);
      const caNotAfter = new x509.X509Certificate(toArrayBuffer(ca.certificateDer)).notAfter.getTime();
      const notBefore = new Date(now - BACKDATE_MS);
      const notAfter = new Date(Math.min(now + this.deps.validityHours * 3_600_000, caNotAfter));
      const certificate = await issueOcspSignerCertificate(ca, { spki: signer.spki, notBefore, notAfter });
      const rec: OcspSignerRecord = {
        id,
        caId: ca.id,
        keyAlgorithm: this.deps.algorithm,
        notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000),
        notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
        certificate,
        encryptedKey: sealed,
      };
      await insertOcspSigner(tx, rec);
      return rec;
    });
  }
}
