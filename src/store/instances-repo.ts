// Server instances sharing one database (migration 055): each registers with a lease and renews it;
// one whose lease ran out (or that said it stopped) is no longer alive. Lease times are the
// database's clock (now()), the one clock every server agrees on.
import type { Queryable } from './db.js';
import { iso } from './sql.js';

export interface InstanceRecord {
  id: string;
  name: string;
  pid: number;
  version: string;
  startedAt: string;
  heartbeatAt: string;
  leaseUntil: string;
  alive: boolean;
}

type InstanceRow = {
  id: string;
  name: string;
  pid: number;
  version: string;
  started_at: Date;
  heartbeat_at: Date;
  lease_until: Date;
  alive: boolean;
};

const toInstance = (r: InstanceRow): InstanceRecord => ({
  id: r.id,
  name: r.name,
  pid: r.pid,
  version: r.version,
  startedAt: iso(r.started_at)!,
  heartbeatAt: iso(r.heartbeat_at)!,
  leaseUntil: iso(r.lease_until)!,
  alive: r.alive,
});

const ALIVE = `(stopped_at IS NULL AND lease_until > now())`;

export async function registerInstance(
  db: Queryable,
  i: { id: string; name: string; pid: number; version: string; leaseSeconds: number },
): Promise<void> {
  await db.query(
    `INSERT INTO server_instances (id, name, pid, version, lease_until)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
     ON CONFLICT (id) DO UPDATE SET stopped_at = NULL, heartbeat_at = now(), lease_until = EXCLUDED.lease_until`,
    [i.id, i.name, i.pid, i.version, i.leaseSeconds],
  );
}

/** Extends the lease; false when the row is gone (forgotten after a long pause): register again. */
export async function renewLease(db: Queryable, id: string, leaseSeconds: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE server_instances SET heartbeat_at = now(), lease_until = now() + make_interval(secs => $2)
      WHERE id = $1 AND stopped_at IS NULL RETURNING id`,
    [id, leaseSeconds],
  );
  return rows.length > 0;
}

/** A clean stop: the lease ends now, so the jobs left behind are recovered at once. */
export async function stopInstance(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE server_instances SET stopped_at = now(), lease_until = LEAST(lease_until, now()) WHERE id = $1`,
    [id],
  );
}

/** Alive instances first (oldest first), then the dead ones still remembered. */
export async function listInstances(db: Queryable): Promise<InstanceRecord[]> {
  const rows = await db.query<InstanceRow>(
    `SELECT *, ${ALIVE} AS alive FROM server_instances ORDER BY ${ALIVE} DESC, started_at, id`,
  );
  return rows.map(toInstance);
}

/** Whether the instance holds a lease now. */
export async function instanceAlive(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query(`SELECT 1 FROM server_instances WHERE id = $1 AND ${ALIVE}`, [id]);
  return rows.length > 0;
}

/** Forgets instances dead for longer than `keepSeconds` (their jobs were recovered long ago). */
export async function purgeDeadInstances(db: Queryable, keepSeconds: number): Promise<number> {
  const rows = await db.query(
    `DELETE FROM server_instances WHERE lease_until < now() - make_interval(secs => $1) RETURNING id`,
    [keepSeconds],
  );
  return rows.length;
}
