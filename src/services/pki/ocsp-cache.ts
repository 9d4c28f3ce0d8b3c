// Pre-produced OCSP answers (RFC 6960 §2.4, RFC 5019 §2.2): the signed answer about a certificate
// is kept and served to everyone who asks about it without a nonce, until shortly before its
// nextUpdate or until word comes that the certificate's status changed (status-changes.ts) —
// then it is dropped at once, so the very next request is answered from the database again.
//
// Two maps: answers by certificate (CA, serial, CertID hash), and the exact request bytes seen
// before → the certificate they asked about, so a repeated request is answered without parsing
// anything. Both are bounded; the oldest entries go first.
import { createHash } from 'node:crypto';
import { CERT_ID_HASH_OIDS, type SingleAnswer } from '../../pki/ocsp.js';
import type { StatusChange } from './status-changes.js';

export interface CachedAnswer {
  der: Buffer;
  /** Strong validator for HTTP (RFC 5019 §6.2): a hash of the answer's bytes. */
  etag: string;
  producedAt: Date;
  nextUpdate: Date;
  /** Not served after this instant (ms): a little before nextUpdate. */
  staleAt: number;
}

const certKey = (caId: string, serial: string, hashOid: string) => `${caId}/${serial}/${hashOid}`;

export class OcspCache {
  readonly #answers = new Map<string, CachedAnswer>();
  readonly #requests = new Map<string, string>();
  /** Bumped by every status change: an answer built across one is not kept (it may be stale). */
  #epoch = 0;

  constructor(private readonly o: { maxEntries: number; staleFraction?: number }) {}

  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#answers.size;
  }

  /** The kept answer for exactly these request bytes, if it is still fresh at `now` (ms). */
  byRequest(requestKey: string, now: number): CachedAnswer | null {
    const key = this.#requests.get(requestKey);
    if (key === undefined) return null;
    const a = this.#answers.get(key);
    if (!a || now >= a.staleAt) return null;
    return a;
  }

  /** The kept answer about a certificate (as singleQuestion names it), linked to `requestKey`. */
  byCertificate(
    q: { caId: string; serial: string; hashOid: string },
    requestKey: string | null,
    now: number,
  ): CachedAnswer | null {
    const key = certKey(q.caId, q.serial, q.hashOid);
    const a = this.#answers.get(key);
    if (!a || now >= a.staleAt) return null;
    if (requestKey !== null) this.#link(requestKey, key);
    return a;
  }

  /**
   * Keeps an answer built while the epoch was `epoch`, for the request bytes `requestKey`. Refused
   * when a status change came in between: the database read may predate it.
   */
  keep(requestKey: string | null, der: Buffer, single: SingleAnswer, epoch: number): CachedAnswer | null {
    if (epoch !== this.#epoch || single.status === 'unknown') return null;
    const life = single.nextUpdate.getTime() - single.producedAt.getTime();
    const answer: CachedAnswer = {
      der,
      etag: `"${createHash('sha1').update(der).digest('base64url')}"`,
      producedAt: single.producedAt,
      nextUpdate: single.nextUpdate,
      staleAt: single.producedAt.getTime() + Math.floor(life * (1 - (this.o.staleFraction ?? 0.1))),
    };
    const key = certKey(single.caId, single.serial, single.hashOid);
    this.#answers.delete(key);
    this.#answers.set(key, answer);
    trim(this.#answers, this.o.maxEntries);
    if (requestKey !== null) this.#link(requestKey, key);
    return answer;
  }

  #link(requestKey: string, key: string): void {
    this.#requests.delete(requestKey);
    this.#requests.set(requestKey, key);
    trim(this.#requests, this.o.maxEntries * 2);
  }

  /** A status changed: drop what it touches, at once. */
  invalidate(change: StatusChange): void {
    this.#epoch++;
    if (change.serial === null) {
      const prefix = `${change.caId}/`;
      for (const k of this.#answers.keys()) if (k.startsWith(prefix)) this.#answers.delete(k);
      return;
    }
    for (const oid of CERT_ID_HASH_OIDS) this.#answers.delete(certKey(change.caId, change.serial, oid));
  }

  clear(): void {
    this.#epoch++;
    this.#answers.clear();
    this.#requests.clear();
  }
}

function trim(m: Map<string, unknown>, max: number): void {
  while (m.size > max) {
    const oldest = m.keys().next();
    if (oldest.done) return;
    m.delete(oldest.value);
  }
}
