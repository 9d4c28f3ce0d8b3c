// OCSP (RFC 6960) for every CA whose key is here. Answers are signed by each CA's delegated
// responder (ocsp-signers.ts), never by the CA key. An answer about one certificate without a
// nonce is kept (ocsp-cache.ts) and served again, unsigned work, until shortly before its
// nextUpdate or until the certificate's status changes (the change drops it at once, so the next
// request reads the database again). A request with a nonce gets a fresh signature every time.
// The answer is always an OCSP response: malformedRequest for what does not parse, internalError
// when answering fails (the database is down, a key cannot be opened), never an exception.
import { INTERNAL_ERROR, answerOcsp, singleQuestion, type OcspStatus } from '../../pki/ocsp.js';
import type { OcspSigningKey } from '../../pki/ocsp-signer-cert.js';
import type { CrlReason } from '../../pki/reasons.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import type { CaRecord } from '../../store/ca-repo.js';
import { findBySerial } from '../../store/certificate-repo.js';
import type { Queryable } from '../../store/db.js';
import type { Clock } from '../context.js';
import type { CachedAnswer, OcspCache } from './ocsp-cache.js';

/** The CAs this responder answers for, and the records of all CAs (subordinate CA certificates). */
export interface OcspCas {
  withKeys(): Promise<SigningCa[]>;
  list(): Promise<{ byId: ReadonlyMap<string, CaRecord> }>;
}

/** Who signs for a CA (its delegated responder). */
export interface OcspSigningKeys {
  forCa(ca: SigningCa): Promise<OcspSigningKey>;
  refreshDue(cas: readonly SigningCa[]): Promise<string[]>;
}

export interface OcspReply {
  /** DER OCSPResponse. */
  der: Buffer;
  /**
   * For an answer anyone may be served (one certificate, no nonce): what HTTP caches need
   * (RFC 5019 §6.2). Null for nonce answers, errors and "unknown".
   */
  cache: { etag: string; producedAt: Date; nextUpdate: Date; maxAgeSeconds: number } | null;
}

function httpCache(a: CachedAnswer, now: number): NonNullable<OcspReply['cache']> {
  // Seconds until it would be renewed here, so a proxy never serves it past its nextUpdate.
  const until = Math.min(a.staleAt, a.nextUpdate.getTime());
  return {
    etag: a.etag,
    producedAt: a.producedAt,
    nextUpdate: a.nextUpdate,
    maxAgeSeconds: Math.max(0, Math.floor((until - now) / 1000)),
  };
}

export class OcspResponder {
  constructor(
    private readonly deps: {
      db: Queryable;
      cas: OcspCas;
      signers: OcspSigningKeys;
      cache: OcspCache;
      clock: Clock;
      validitySeconds: number;
    },
  ) {}

  /** A DER OCSPResponse for a DER OCSPRequest. Never throws. */
  async respond(request: Uint8Array): Promise<Buffer> {
    return (await this.answer(request)).der;
  }

  /**
   * The kept answer for these exact request bytes (`requestKey`, e.g. the GET path segment), or
   * null: the hot path, no parsing and no signing.
   */
  cached(requestKey: string): OcspReply | null {
    const now = this.deps.clock.now().getTime();
    const a = this.deps.cache.byRequest(requestKey, now);
    return a ? { der: a.der, cache: httpCache(a, now) } : null;
  }

  /**
   * Answers a DER OCSPRequest; `requestKey` (a string naming these exact bytes) lets a repeated
   * request find the kept answer without parsing. Never throws.
   */
  async answer(request: Uint8Array, requestKey: string | null = null): Promise<OcspReply> {
    if (requestKey !== null) {
      const hit = this.cached(requestKey);
      if (hit) return hit;
    }
    const epoch = this.deps.cache.epoch;
    let cas: SigningCa[];
    try {
      cas = await this.deps.cas.withKeys();
    } catch {
      // Without a signer the core still answers what needs none (malformedRequest, unauthorized).
      cas = [];
    }
    try {
      // Other bytes asking the same (another encoding, GET after POST): the certificate's answer.
      const q = singleQuestion(request, cas);
      const now = this.deps.clock.now().getTime();
      const kept = q ? this.deps.cache.byCertificate(q, requestKey, now) : null;
      if (kept) return { der: kept.der, cache: httpCache(kept, now) };
      const a = await answerOcsp(request, {
        cas,
        now: this.deps.clock.now(),
        validitySeconds: this.deps.validitySeconds,
        lookup: (caId, serial) => this.#status(caId, serial),
        signingKey: (ca) => this.deps.signers.forCa(ca),
      });
      const fresh = a.single ? this.deps.cache.keep(requestKey, a.der, a.single, epoch) : null;
      return { der: a.der, cache: fresh ? httpCache(fresh, this.deps.clock.now().getTime()) : null };
    } catch {
      return { der: INTERNAL_ERROR, cache: null };
    }
  }

  /** Renews each CA's responder that is due, so it rolls over even while no one asks. */
  async renewSigners(): Promise<string[]> {
    return this.deps.signers.refreshDue(await this.deps.cas.withKeys());
  }

  /** Runs renewSigners on a timer; returns the stop function. Errors go to `onError`. */
  startScheduler(opts: { intervalMs?: number; onError?: (err: unknown) => void } = {}): () => void {
    const timer = setInterval(() => {
      this.renewSigners().catch((err) => opts.onError?.(err));
    }, opts.intervalMs ?? 600_000);
    timer.unref();
    return () => clearInterval(timer);
  }

  async #status(caId: string, serial: string): Promise<OcspStatus> {
    const row = await findBySerial(this.deps.db, caId, serial);
    if (row) {
      if (row.status === 'valid') return { status: 'good' };
      return {
        status: 'revoked',
        revokedAt: row.revokedAt ?? new Date(0),
        reason: (row.revocationReason ?? 'unspecified') as CrlReason,
      };
    }
    // A subordinate CA certificate this CA issued (our own issuing CA under our root).
    const sub = [...(await this.deps.cas.list()).byId.values()].find(
      (c) => c.parentId === caId && c.serial === serial,
    );
    return sub ? { status: 'good' } : { status: 'unknown' };
  }
}
