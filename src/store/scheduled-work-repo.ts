// The slots of periodic work (migration 061): a server takes the slot of `name` when it is due and
// moves it one interval on, in one statement, so of several servers looking at once exactly one
// gets it.
import type { Queryable } from './db.js';

/** True when `owner` took the slot (it was due, or never taken): it is to run the work now. */
export async function takeSlot(
  db: Queryable,
  name: string,
  intervalMs: number,
  owner: string,
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO scheduled_work (name, next_run_at, last_run_at, last_owner)
     VALUES ($1, now() + make_interval(secs => $2), now(), $3)
     ON CONFLICT (name) DO UPDATE SET next_run_at = EXCLUDED.next_run_at, last_run_at = now(),
       last_owner = EXCLUDED.last_owner
     WHERE scheduled_work.next_run_at <= now()
     RETURNING name`,
    [name, intervalMs / 1000, owner],
  );
  return rows.length > 0;
}

export interface SlotRecord {
  name: string;
  nextRunAt: string;
  lastRunAt: string | null;
  lastOwner: string | null;
}

export async function listSlots(db: Queryable): Promise<SlotRecord[]> {
  const rows = await db.query<{
    name: string;
    next_run_at: Date;
    last_run_at: Date | null;
    last_owner: string | null;
  }>('SELECT * FROM scheduled_work ORDER BY name');
  return rows.map((r) => ({
    name: r.name,
    nextRunAt: r.next_run_at.toISOString(),
    lastRunAt: r.last_run_at?.toISOString() ?? null,
    lastOwner: r.last_owner,
  }));
}
