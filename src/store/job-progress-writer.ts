// Group commit for the progress of running issuance jobs. A card's run reports each step (about 15
// per card); with many cards issued at once, the reports made while a write is in flight go to the
// database together in one statement — one round trip for all of them instead of one each — and a
// job's report made while its previous one still waits replaces it (only the newest is shown).
// Each report resolves once its progress is written (or replaced by a newer one that is). With a
// gathering window (the issuance runner's, which waits only for the reports that must be stored
// before the card changes: docs/decisions/0041) a report also waits that long for others, so the
// statements per card do not grow when few cards run at once. A failed group is retried job by job, so one bad row
// never takes the others down. A report may carry a patch of the job's options (the run's
// cardTouched), merged by the same statement instead of an UPDATE of its own, and the NOTIFY that
// tells the other servers the job changed (made by the same statement, so delivered at its commit,
// and only for a job it wrote) instead of a NOTIFY statement of the bus's own.
import type { Queryable } from './db.js';

interface Pending {
  /** The run's attempt: a report is written only while the job runs that attempt. */
  attempt: number;
  progress: number;
  step: string;
  at: Date;
  /** Merged into the job's options with the progress (a replaced report's patch is kept). */
  options: Record<string, unknown> | undefined;
  /** The NOTIFY saying the job changed, made by the statement that writes it (PostgreSQL). */
  notify: Notify | undefined;
  waiters: { resolve(written: boolean): void; reject(err: unknown): void }[];
}

/** A NOTIFY on the servers' channel (services/cluster/bus.ts carry). */
export type Notify = { channel: string; payload: string };

/** Most jobs written by one statement. */
const MAX_GROUP = 500;

export class JobProgressWriter {
  readonly #db: Queryable;
  readonly #gatherMs: number;
  readonly #queue = new Map<string, Pending>();
  #draining = false;
  #gathering: NodeJS.Timeout | undefined;

  /**
   * `gatherMs`: how long a report waits for others before its statement goes (0: at once, or with
   * the statement in flight).
   */
  constructor(db: Queryable, o: { gatherMs?: number } = {}) {
    this.#db = db;
    this.#gatherMs = o.gatherMs ?? 0;
  }

  /**
   * Sets a running job's progress (never backwards within an attempt) and step label, merges
   * `options` into its options and makes `notify` (heard at the commit); a job no longer running
   * `job.attempt` (ended, or retried elsewhere after this run's attempt was failed: issue #20) is
   * left as it is, and nothing is said of it. Resolves with whether the job was written.
   */
  write(
    job: { id: string; attempt: number },
    progress: number,
    step: string,
    at: Date,
    options?: Record<string, unknown>,
    notify?: Notify | null,
  ): Promise<boolean> {
    const jobId = job.id;
    return new Promise((resolve, reject) => {
      const pending = this.#queue.get(jobId);
      if (pending?.attempt === job.attempt) {
        pending.progress = Math.max(pending.progress, progress);
        pending.step = step;
        pending.at = at;
        if (options) pending.options = { ...pending.options, ...options };
        if (notify) pending.notify = notify;
        pending.waiters.push({ resolve, reject });
      } else
        // A new report, or another attempt's (never both running here at once): the newer one's
        // alone, and whoever waited on the older one is answered with it.
        this.#queue.set(jobId, {
          attempt: job.attempt,
          progress,
          step,
          at,
          options,
          notify: notify ?? undefined,
          waiters: [...(pending?.waiters ?? []), { resolve, reject }],
        });
      if (!this.#draining) this.#schedule();
    });
  }

  async #drain(): Promise<void> {
    clearTimeout(this.#gathering);
    this.#gathering = undefined;
    this.#draining = true;
    try {
      const group = [...this.#queue].slice(0, MAX_GROUP);
      for (const [id] of group) this.#queue.delete(id);
      try {
        const written = await this.#writeGroup(group);
        for (const [id, p] of group) for (const w of p.waiters) w.resolve(written.has(id));
      } catch (err) {
        if (group.length === 1) for (const w of group[0]![1].waiters) w.reject(err);
        else
          for (const g of group)
            await this.#writeGroup([g]).then(
              (written) => g[1].waiters.forEach((w) => w.resolve(written.has(g[0]))),
              (e: unknown) => g[1].waiters.forEach((w) => w.reject(e)),
            );
      }
    } finally {
      this.#draining = false;
      // What came while the statement was in flight: at once, or gathered for a window of its own.
      if (this.#queue.size) this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#gatherMs <= 0) void this.#drain();
    else this.#gathering ??= setTimeout(() => void this.#drain(), this.#gatherMs);
  }

  /** The ids of the jobs written (those still running the report's attempt). */
  async #writeGroup(group: readonly [string, Pending][]): Promise<Set<string>> {
    // In id order: two groups locking the same rows (they cannot, one runs at a time per process,
    // and each process writes its own jobs) would take them in one order.
    const sorted = [...group].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const update = `UPDATE issuance_jobs j SET progress = GREATEST(j.progress, v.progress), step = v.step, updated_at = v.at,
              options = CASE WHEN v.options IS NULL THEN j.options ELSE j.options || v.options::jsonb END
         FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::int[])
              AS v(id, progress, step, at, options, channel, payload, attempt)
        WHERE j.id = v.id AND j.status = 'running' AND j.attempt = v.attempt`;
    // The NOTIFYs only where there are any (PGlite's bus is in memory): one per job written.
    const notifies = sorted.some(([, p]) => p.notify);
    const rows = await this.#db.query<{ id: string }>(
      notifies
        ? // n is read (count) so its NOTIFYs are made; every row written is returned beside them.
          `WITH w AS (${update} RETURNING j.id, v.channel, v.payload),
                n AS (SELECT pg_notify(channel, payload) FROM w WHERE payload IS NOT NULL)
           SELECT w.id FROM w CROSS JOIN (SELECT count(*) FROM n) c`
        : `${update} RETURNING j.id`,
      [
        sorted.map(([id]) => id),
        sorted.map(([, p]) => p.progress),
        sorted.map(([, p]) => p.step),
        sorted.map(([, p]) => p.at.toISOString()),
        // As text: both drivers pass a string array through unchanged (PGlite would re-encode jsonb[]).
        sorted.map(([, p]) => (p.options ? JSON.stringify(p.options) : null)),
        sorted.map(([, p]) => p.notify?.channel ?? null),
        sorted.map(([, p]) => p.notify?.payload ?? null),
        sorted.map(([, p]) => p.attempt),
      ],
    );
    return new Set(rows.map((r) => r.id));
  }
}
