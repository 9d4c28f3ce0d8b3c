// Sign-in throttle counters (migration 032, decision 0022): one row per secret, scope and subject
// (the name, the source address, the name from that address), for names that exist or not.
// An attempt reads its three rows under row locks (lockCounts) and writes them back (putCounts) in
// the same transaction, so every concurrent attempt sees the ones before it, on PGlite (one
// connection, transactions in turn) and on PostgreSQL alike.
import type { ThrottleCount, ThrottleCounts, ThrottleScope } from '../domain/sign-in-throttle.js';
import type { Queryable } from './db.js';

export interface ThrottleKey {
  secret: string;
  name: string;
  address: string;
}

const pairSubject = (k: ThrottleKey) => `${k.name} ${k.address}`;

/**
 * The three counts of one attempt, created when missing and locked until the transaction ends.
 * Rows are created and locked in one order (scope: address, name, name_address; every attempt
 * has one row of each), so two attempts never wait on each other in a circle. The INSERT locks rows
 * that already exist too (the no-op DO UPDATE), so purgeForgotten cannot delete one between the
 * INSERT and the SELECT.
 */
export async function lockCounts(tx: Queryable, k: ThrottleKey): Promise<ThrottleCounts> {
  await tx.query(
    `INSERT INTO sign_in_throttles (secret, scope, subject, name, address)
     VALUES ($1, 'address', $3, NULL, $3), ($1, 'name', $2, $2, NULL), ($1, 'name_address', $4, $2, $3)
     ON CONFLICT (secret, scope, subject) DO UPDATE SET failures = sign_in_throttles.failures`,
    [k.secret, k.name, k.address, pairSubject(k)],
  );
  const rows = await tx.query<{
    scope: ThrottleScope;
    failures: number;
    last_failure_at: Date | null;
    next_at: Date | null;
    trusted: boolean;
  }>(
    `SELECT scope, failures, last_failure_at, next_at, trusted FROM sign_in_throttles
     WHERE secret = $1 AND ((scope = 'address' AND subject = $3) OR (scope = 'name' AND subject = $2)
       OR (scope = 'name_address' AND subject = $4))
     ORDER BY scope FOR UPDATE`,
    [k.secret, k.name, k.address, pairSubject(k)],
  );
  const count = (s: ThrottleScope): ThrottleCount => {
    const r = rows.find((x) => x.scope === s)!;
    return {
      failures: r.failures,
      lastFailureAt: r.last_failure_at ? new Date(r.last_failure_at) : null,
      nextAt: r.next_at ? new Date(r.next_at) : null,
      trusted: r.trusted,
    };
  };
  return { address: count('address'), name: count('name'), name_address: count('name_address') };
}

/** Writes back the counts lockCounts read (in the same transaction). */
export async function putCounts(tx: Queryable, k: ThrottleKey, c: ThrottleCounts): Promise<void> {
  for (const [scope, subject] of [
    ['address', k.address],
    ['name', k.name],
    ['name_address', pairSubject(k)],
  ] as const) {
    const v = c[scope];
    await tx.query(
      `UPDATE sign_in_throttles SET failures = $4, last_failure_at = $5, next_at = $6
       WHERE secret = $1 AND scope = $2 AND subject = $3`,
      [k.secret, scope, subject, v.failures, v.lastFailureAt, v.nextAt],
    );
  }
}

/**
 * A success: the pair starts again from nothing and is trusted from now on; the name's and the
 * address's counts only lose this attempt (others' failures there still stand).
 */
export async function countSuccess(q: Queryable, k: ThrottleKey): Promise<void> {
  // One row at a time, in lockCounts' order, so this never waits in a circle with an attempt.
  for (const [scope, subject] of [
    ['address', k.address],
    ['name', k.name],
  ] as const)
    await q.query(
      `UPDATE sign_in_throttles SET failures = GREATEST(failures - 1, 0)
       WHERE secret = $1 AND scope = $2 AND subject = $3`,
      [k.secret, scope, subject],
    );
  await q.query(
    `UPDATE sign_in_throttles SET failures = 0, next_at = NULL, last_failure_at = NULL, trusted = true
     WHERE secret = $1 AND scope = 'name_address' AND subject = $2`,
    [k.secret, pairSubject(k)],
  );
}

export interface ThrottleRecord {
  secret: string;
  scope: ThrottleScope;
  subject: string;
  name: string | null;
  address: string | null;
  failures: number;
  lastFailureAt: Date | null;
  nextAt: Date;
}

type RecordRow = {
  secret: string;
  scope: ThrottleScope;
  subject: string;
  name: string | null;
  address: string | null;
  failures: number;
  last_failure_at: Date | null;
  next_at: Date;
};

const toRecord = (r: RecordRow): ThrottleRecord => ({
  secret: r.secret,
  scope: r.scope,
  subject: r.subject,
  name: r.name,
  address: r.address,
  failures: r.failures,
  lastFailureAt: r.last_failure_at ? new Date(r.last_failure_at) : null,
  nextAt: new Date(r.next_at),
});

/** The delays in force at `now` (optionally those concerning one name), longest first. */
export async function listDelays(
  db: Queryable,
  now: Date,
  opts: { name?: string; limit: number },
): Promise<ThrottleRecord[]> {
  const rows = await db.query<RecordRow>(
    `SELECT secret, scope, subject, name, address, failures, last_failure_at, next_at
     FROM sign_in_throttles WHERE next_at > $1 AND ($2::text IS NULL OR name = $2::text)
     ORDER BY next_at DESC, secret, scope, subject LIMIT $3`,
    [now, opts.name ?? null, opts.limit],
  );
  return rows.map(toRecord);
}

/** Removes one counter (keeping a pair's trust); returns what it held, or null when there was none. */
export async function liftDelay(
  tx: Queryable,
  key: { secret: string; scope: ThrottleScope; subject: string },
): Promise<ThrottleRecord | null> {
  // RETURNING shows the row after the update; what was lifted comes from the locked row before it.
  const rows = await tx.query<RecordRow>(
    `UPDATE sign_in_throttles AS t SET failures = 0, next_at = NULL, last_failure_at = NULL
     FROM (SELECT secret, scope, subject, name, address, failures, last_failure_at, next_at
           FROM sign_in_throttles WHERE secret = $1 AND scope = $2 AND subject = $3 AND next_at IS NOT NULL
           FOR UPDATE) AS o
     WHERE t.secret = o.secret AND t.scope = o.scope AND t.subject = o.subject
     RETURNING o.secret, o.scope, o.subject, o.name, o.address, o.failures, o.last_failure_at, o.next_at`,
    [key.secret, key.scope, key.subject],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Ends every delay of one secret for one name, from everywhere (a password reset). */
export async function clearNameDelays(tx: Queryable, secret: string, name: string): Promise<void> {
  // The name's row first, as an attempt takes it before its pair's: no circle of waits.
  await tx.query(
    `SELECT 1 FROM sign_in_throttles WHERE secret = $1 AND scope = 'name' AND subject = $2 FOR UPDATE`,
    [secret, name],
  );
  await tx.query(
    `UPDATE sign_in_throttles SET failures = 0, next_at = NULL, last_failure_at = NULL
     WHERE secret = $1 AND name = $2 AND scope IN ('name', 'name_address')`,
    [secret, name],
  );
}

/**
 * Deletes the counts that no longer matter: no delay in force at `now` and no failure after
 * `forgetBefore` (such a count stands at nothing, decideAttempt forgets it), so the table does not
 * grow with every name and address ever tried. A pair's trust is kept: it records where a person
 * has signed in, and there are only as many as real sign-ins. A row an attempt holds is skipped.
 */
export async function purgeForgotten(db: Queryable, now: Date, forgetBefore: Date): Promise<number> {
  const rows = await db.query<{ secret: string }>(
    `DELETE FROM sign_in_throttles WHERE (secret, scope, subject) IN (
       SELECT secret, scope, subject FROM sign_in_throttles
        WHERE NOT trusted AND (next_at IS NULL OR next_at <= $1)
          AND (last_failure_at IS NULL OR last_failure_at <= $2)
        FOR UPDATE SKIP LOCKED)
     RETURNING secret`,
    [now, forgetBefore],
  );
  return rows.length;
}
