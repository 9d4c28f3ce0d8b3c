// Each CA's full CRL, kept current: re-signed right after a status change or a new CA, on request
// when it is missing, stale or past half its validity, and by a timer so relying parties never
// see it lapse. The cRLNumber is reserved under the CA's CRL row lock, so several servers take
// turns and numbers strictly increase (docs/decisions/0010).
import { NotFoundError } from '../../domain/errors.js';
import { buildCrl } from '../../pki/crl.js';
import { truncateToSeconds } from '../../pki/leaf.js';
import type { CrlReason } from '../../pki/reasons.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import {
  getCa,
  getCrlState,
  listCrlStates,
  lockCrlState,
  reserveCrlNumber,
  saveCrl,
  type CrlState,
} from '../../store/ca-repo.js';
import { listRevokedForCrl } from '../../store/certificate-repo.js';
import type { Db } from '../../store/db.js';
import type { Clock } from '../context.js';

/** A CA's key, ready to sign. */
export interface CaSigners {
  signer(caId: string): Promise<SigningCa>;
}

/** Whether a CRL must be re-signed: missing, stale, or half of its validity has passed. */
export function crlDue(s: CrlState, now: Date): boolean {
  if (s.stale || !s.crl || !s.thisUpdate || !s.nextUpdate) return true;
  const half = s.thisUpdate.getTime() + (s.nextUpdate.getTime() - s.thisUpdate.getTime()) / 2;
  return now.getTime() >= half;
}

export class CrlPublisher {
  constructor(private readonly deps: { db: Db; cas: CaSigners; clock: Clock; validityHours: number }) {}

  /** The CA's current CRL (DER), re-signed first when it is due. */
  async current(caId: string): Promise<Buffer> {
    const state = await getCrlState(this.deps.db, caId);
    if (!state) throw new NotFoundError('CA', caId);
    if (state.crl && !crlDue(state, this.deps.clock.now())) return state.crl;
    return this.#sign(caId, true);
  }

  /** Signs the next CRL now (the CA's certificates changed status, or the CA is new). */
  publish(caId: string): Promise<Buffer> {
    return this.#sign(caId, false);
  }

  /** Re-signs each CA's CRL that is due (scheduler tick); returns the ids refreshed. */
  async refreshDue(): Promise<string[]> {
    const done: string[] = [];
    for (const s of await listCrlStates(this.deps.db)) {
      if (!crlDue(s, this.deps.clock.now())) continue;
      // A CA without its key here cannot sign; its CRL stays as it is.
      if (!(await getCa(this.deps.db, s.caId))?.encryptedKey) continue;
      await this.#sign(s.caId, true);
      done.push(s.caId);
    }
    return done;
  }

  /**
   * Re-signs due CRLs on a timer. Returns a stop function. Errors go to `onError` and the timer
   * keeps running.
   */
  startScheduler(opts: { intervalMs?: number; onError?: (err: unknown) => void } = {}): () => void {
    const timer = setInterval(() => {
      this.refreshDue().catch((err) => opts.onError?.(err));
    }, opts.intervalMs ?? 60_000);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Builds and stores the next CRL under the CA's CRL row lock. With onlyIfDue, a writer that
   * waited for the lock finds the CRL another just saved and returns it instead of signing again.
   */
  async #sign(caId: string, onlyIfDue: boolean): Promise<Buffer> {
    const ca = await this.deps.cas.signer(caId);
    return this.deps.db.transaction(async (tx) => {
      const locked = await lockCrlState(tx, caId);
      if (!locked) throw new NotFoundError('CA', caId);
      if (onlyIfDue && locked.crl && !crlDue(locked, this.deps.clock.now())) return locked.crl;
      const now = truncateToSeconds(this.deps.clock.now());
      const nextUpdate = new Date(now.getTime() + this.deps.validityHours * 3_600_000);
      const crlNumber = await reserveCrlNumber(tx, caId);
      const entries = (await listRevokedForCrl(tx, caId, now)).map((e) => ({
        serialHex: e.serial,
        revokedAt: e.revokedAt,
        reason: e.reason as CrlReason,
      }));
      const der = await buildCrl(ca, { crlNumber, thisUpdate: now, nextUpdate, entries });
      await saveCrl(tx, caId, { thisUpdate: now, nextUpdate, der });
      return der;
    });
  }
}
