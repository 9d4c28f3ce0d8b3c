// Each CA's full CRL, kept current: re-signed right after a status change or a new CA, on request
// when it is missing, stale or past half its validity, and by a timer so relying parties never
// see it lapse. The cRLNumber is reserved under the CA's CRL row lock, so several servers take
// turns and numbers strictly increase (docs/decisions/0010).
//
// At scale (100,000 entries) two things matter. The CRL is served from memory: a download reads
// only the CA's CRL number and dates, and the DER is read from the database only when another
// server signed a newer one. And the next CRL is built incrementally: the encoded entries of the
// last one are kept, and only certificates whose status changed since (an index on updated_at)
// are applied, then the expired ones dropped; a full read happens at start, every FULL_REBUILD_MS
// and after any failure. The changes are read from OVERLAP_MS before the last build, so a status
// change whose transaction committed just after that build (its timestamp a little older) is
// still seen; applying a change twice changes nothing.
import { NotFoundError } from '../../domain/errors.js';
import { buildCrl, encodeCrlEntry } from '../../pki/crl.js';
import { truncateToSeconds } from '../../pki/leaf.js';
import type { CrlReason } from '../../pki/reasons.js';
import type { SigningCa } from '../../pki/signing-ca.js';
import {
  getCa,
  getCrlMeta,
  getCrlState,
  listCrlStates,
  lockCrlState,
  reserveCrlNumber,
  saveCrl,
  type CrlMeta,
} from '../../store/ca-repo.js';
import { listCrlChangesSince, listRevokedForCrl, type CrlRow } from '../../store/certificate-repo.js';
import type { Db, Queryable } from '../../store/db.js';
import type { Clock } from '../context.js';

/** A CA's key, ready to sign. */
export interface CaSigners {
  signer(caId: string): Promise<SigningCa>;
}

const FULL_REBUILD_MS = 6 * 3_600_000;
const OVERLAP_MS = 10 * 60_000;

interface KeptEntry {
  der: Buffer;
  revokedAt: number;
  notAfter: number;
}

/** The entries of a CA's last CRL, encoded, and when they were read. */
interface KeptEntries {
  readAt: number;
  fullAt: number;
  bySerial: Map<string, KeptEntry>;
}

/** Whether a CRL must be re-signed: missing, stale, or half of its validity has passed. */
export function crlDue(s: CrlMeta, now: Date): boolean {
  if (s.stale || !s.hasCrl || !s.thisUpdate || !s.nextUpdate) return true;
  const half = s.thisUpdate.getTime() + (s.nextUpdate.getTime() - s.thisUpdate.getTime()) / 2;
  return now.getTime() >= half;
}

export class CrlPublisher {
  readonly #entries = new Map<string, KeptEntries>();
  readonly #served = new Map<string, { crlNumber: number; crl: Buffer }>();

  constructor(private readonly deps: { db: Db; cas: CaSigners; clock: Clock; validityHours: number }) {}

  /** The CA's current CRL (DER), re-signed first when it is due. */
  async current(caId: string): Promise<Buffer> {
    const meta = await getCrlMeta(this.deps.db, caId);
    if (!meta) throw new NotFoundError('CA', caId);
    const now = this.deps.clock.now();
    const mine = this.#served.get(caId);
    if (mine && mine.crlNumber === meta.crlNumber && !crlDue(meta, now)) return mine.crl;
    const state = await getCrlState(this.deps.db, caId);
    if (!state) throw new NotFoundError('CA', caId);
    if (state.crl && !crlDue(state, now)) {
      this.#served.set(caId, { crlNumber: state.crlNumber, crl: state.crl });
      return state.crl;
    }
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
    try {
      const saved = await this.deps.db.transaction(async (tx) => {
        const locked = await lockCrlState(tx, caId);
        if (!locked) throw new NotFoundError('CA', caId);
        if (onlyIfDue && !crlDue(locked, this.deps.clock.now())) {
          const saved = (await getCrlState(tx, caId))!;
          return { crlNumber: saved.crlNumber, crl: saved.crl! };
        }
        const now = truncateToSeconds(this.deps.clock.now());
        const nextUpdate = new Date(now.getTime() + this.deps.validityHours * 3_600_000);
        const crlNumber = await reserveCrlNumber(tx, caId);
        const encoded = await this.#currentEntries(tx, caId, now);
        const crl = await buildCrl(ca, { crlNumber, thisUpdate: now, nextUpdate, entries: { encoded } });
        await saveCrl(tx, caId, { thisUpdate: now, nextUpdate, der: crl });
        return { crlNumber, crl };
      });
      this.#served.set(caId, saved);
      return saved.crl;
    } catch (err) {
      // The kept entries may hold changes of a transaction that did not commit: read all next time.
      this.#entries.delete(caId);
      throw err;
    }
  }

  /** The encoded entries of the CRL signed at `now`: the kept ones brought up to date, or all read. */
  async #currentEntries(tx: Queryable, caId: string, now: Date): Promise<Buffer[]> {
    const t = now.getTime();
    let kept = this.#entries.get(caId);
    if (kept && t - kept.fullAt < FULL_REBUILD_MS && t >= kept.readAt) {
      for (const row of await listCrlChangesSince(tx, caId, new Date(kept.readAt - OVERLAP_MS)))
        apply(kept.bySerial, row);
      kept.readAt = t;
    } else {
      kept = { readAt: t, fullAt: t, bySerial: new Map() };
      for (const row of await listRevokedForCrl(tx, caId, now)) apply(kept.bySerial, row);
      this.#entries.set(caId, kept);
    }
    const live: [string, KeptEntry][] = [];
    for (const [serial, e] of kept.bySerial) {
      if (e.notAfter <= t)
        kept.bySerial.delete(serial); // expired: off the CRL for good (§3.3)
      else live.push([serial, e]);
    }
    // Oldest revocation first, then by serial: the same CRL whichever way it was built.
    live.sort((a, b) => a[1].revokedAt - b[1].revokedAt || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return live.map(([, e]) => e.der);
  }
}

function apply(bySerial: Map<string, KeptEntry>, row: CrlRow): void {
  if (row.revokedAt === null) {
    bySerial.delete(row.serial);
    return;
  }
  bySerial.set(row.serial, {
    der: encodeCrlEntry({ serialHex: row.serial, revokedAt: row.revokedAt, reason: row.reason as CrlReason }),
    revokedAt: row.revokedAt.getTime(),
    notAfter: row.notAfter.getTime(),
  });
}
