import type { JobStatus } from '../domain/issuance-job.js';
import type { Queryable } from './db.js';
import { iso, joinedRow } from './sql.js';

export interface JobError {
  code: string;
  message: string;
  detail?: string;
  correlationId: string;
}

export interface IssuanceJob {
  id: string;
  deviceId: string;
  userId: string;
  policyId: string;
  requestId: string | null;
  startedBy: string | null;
  status: JobStatus;
  progress: number;
  step: string;
  attempt: number;
  options: Record<string, unknown>;
  error: JobError | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** The server instance running it, or to claim it when awaitingOwner. */
  ownerInstance: string | null;
  awaitingOwner: boolean;
}

export type JobRow = {
  id: string;
  device_id: string;
  user_id: string;
  policy_id: string;
  request_id: string | null;
  started_by: string | null;
  status: JobStatus;
  progress: number;
  step: string;
  attempt: number;
  options: Record<string, unknown>;
  error: JobError | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  owner_instance: string | null;
  awaiting_owner: boolean;
};

export const toJob = (r: JobRow): IssuanceJob => ({
  id: r.id,
  deviceId: r.device_id,
  userId: r.user_id,
  policyId: r.policy_id,
  requestId: r.request_id,
  startedBy: r.started_by,
  status: r.status,
  progress: r.progress,
  step: r.step,
  attempt: r.attempt,
  options: r.options,
  error: r.error,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
  finishedAt: iso(r.finished_at),
  ownerInstance: r.owner_instance,
  awaitingOwner: r.awaiting_owner,
});

/** The columns a JobRow maps, for reading a job's row beside another table's (joinedJob). */
const COLUMNS =
  'id, device_id, user_id, policy_id, request_id, started_by, status, progress, step, attempt, options, error, ' +
  'created_at, updated_at, finished_at, owner_instance, awaiting_owner';

const joinedIssuanceJobRow = joinedRow<JobRow, IssuanceJob>(COLUMNS, toJob);
/** A job's columns read through a join under `alias`, each named `<prefix><column>`. */
export const joinedJobColumns = joinedIssuanceJobRow.columns;
/** The job of a row read with joinedJobColumns, or null when the join found none. */
export const joinedJob = joinedIssuanceJobRow.read;

export interface NewJob {
  deviceId: string;
  userId: string;
  policyId: string;
  requestId?: string | null;
  startedBy: string | null;
  options: Record<string, unknown>;
  at: Date;
  /** The server instance that runs it (or is to claim it, with awaitingOwner). */
  owner: string | null;
  /** Queued for `owner` (the server holding the card's agent) to claim and run. */
  awaitingOwner?: boolean;
}

export async function insertJob(tx: Queryable, j: NewJob): Promise<IssuanceJob> {
  const [row] = await tx.query<JobRow>(
    `INSERT INTO issuance_jobs (device_id, user_id, policy_id, request_id, started_by, status, options, created_at, updated_at,
       owner_instance, awaiting_owner)
     VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $7, $8, $9) RETURNING *`,
    [
      j.deviceId,
      j.userId,
      j.policyId,
      j.requestId ?? null,
      j.startedBy,
      JSON.stringify(j.options),
      j.at,
      j.owner,
      j.awaitingOwner === true,
    ],
  );
  return toJob(row!);
}

export async function getJob(db: Queryable, id: string, forUpdate = false): Promise<IssuanceJob | null> {
  const rows = await db.query<JobRow>(
    `SELECT * FROM issuance_jobs WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ? toJob(rows[0]) : null;
}

export async function latestJobForDevice(
  db: Queryable,
  deviceId: string,
  forUpdate = false,
): Promise<IssuanceJob | null> {
  const rows = await db.query<JobRow>(
    `SELECT * FROM issuance_jobs WHERE device_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId],
  );
  return rows[0] ? toJob(rows[0]) : null;
}

/** Whether the job still runs `attempt` (its report written): false, nothing written, when not. */
export async function updateJobProgress(
  db: Queryable,
  id: string,
  attempt: number,
  progress: number,
  step: string,
  at: Date,
): Promise<boolean> {
  const rows = await db.query(
    // Never backwards within an attempt (a retry starts again from 0 in its own statement), and only
    // the reporting run's attempt (a stale run's report is not attempt 2's, issue #20).
    `UPDATE issuance_jobs SET progress = GREATEST(progress, $1), step = $2, updated_at = $3
      WHERE id = $4 AND status = 'running' AND attempt = $5 RETURNING 1`,
    [progress, step, at, id, attempt],
  );
  return rows.length > 0;
}

/**
 * Merges `patch` into the job's options (the agent and reader, cardTouched, pinChangePending…);
 * with `at`, the job counts as changed then.
 */
export async function mergeJobOptions(
  db: Queryable,
  id: string,
  patch: Record<string, unknown>,
  at?: Date,
): Promise<void> {
  if (at)
    await db.query(`UPDATE issuance_jobs SET options = options || $1::jsonb, updated_at = $3 WHERE id = $2`, [
      JSON.stringify(patch),
      id,
      at,
    ]);
  else
    await db.query(`UPDATE issuance_jobs SET options = options || $1::jsonb WHERE id = $2`, [
      JSON.stringify(patch),
      id,
    ]);
}

export async function finishJob(
  tx: Queryable,
  id: string,
  status: Exclude<JobStatus, 'running'>,
  error: JobError | null,
  at: Date,
  /** The step the run was at, when its report may not be written yet (the runner's are gathered). */
  reached?: { step: string; progress: number },
): Promise<IssuanceJob> {
  const [row] = await tx.query<JobRow>(
    `UPDATE issuance_jobs SET status = $1, error = $2, finished_at = $3, updated_at = $3,
       progress = CASE WHEN $1 = 'succeeded' THEN 100 ELSE GREATEST(progress, COALESCE($6, 0)) END,
       step = COALESCE($5, step)
     WHERE id = $4 RETURNING *`,
    [status, error ? JSON.stringify(error) : null, at, id, reached?.step ?? null, reached?.progress ?? null],
  );
  return toJob(row!);
}

/**
 * Ends a job only while it is still running `attempt`: null (nothing written) when it was ended
 * meanwhile or retried (another attempt runs), so a stale run never ends another attempt.
 */
export async function finishRunningAttempt(
  tx: Queryable,
  id: string,
  attempt: number,
  status: Exclude<JobStatus, 'running'>,
  error: JobError | null,
  at: Date,
): Promise<IssuanceJob | null> {
  const [row] = await tx.query<JobRow>(
    `UPDATE issuance_jobs SET status = $1, error = $2, finished_at = $3, updated_at = $3,
       progress = CASE WHEN $1 = 'succeeded' THEN 100 ELSE progress END
     WHERE id = $4 AND status = 'running' AND attempt = $5 RETURNING *`,
    [status, error ? JSON.stringify(error) : null, at, id, attempt],
  );
  return row ? toJob(row) : null;
}

export async function restartJob(
  tx: Queryable,
  id: string,
  at: Date,
  owner: string | null,
  awaitingOwner = false,
): Promise<IssuanceJob> {
  const [row] = await tx.query<JobRow>(
    `UPDATE issuance_jobs SET status = 'running', error = NULL, progress = 0, step = '', attempt = attempt + 1,
       finished_at = NULL, updated_at = $1, owner_instance = $3, awaiting_owner = $4 WHERE id = $2 RETURNING *`,
    [at, id, owner, awaitingOwner],
  );
  return toJob(row!);
}

/**
 * Claims the jobs left `running` by a server that is gone: owned by no instance, or by one whose
 * lease ran out (or that stopped). `self`'s own jobs are never claimed. With `trustLeases` false
 * (PGlite: one process by construction) every other owner counts as gone. SKIP LOCKED: of several
 * servers sweeping at once, each job goes to exactly one; a job whose run is writing (its row
 * locked) is skipped, not waited for.
 */
export async function claimOrphanedJobs(
  tx: Queryable,
  self: string,
  trustLeases: boolean,
): Promise<IssuanceJob[]> {
  const rows = await tx.query<JobRow>(
    `SELECT j.* FROM issuance_jobs j
      WHERE j.status = 'running' AND j.owner_instance IS DISTINCT FROM $1
        AND (j.owner_instance IS NULL OR NOT $2::boolean OR NOT EXISTS (
              SELECT 1 FROM server_instances i
               WHERE i.id = j.owner_instance AND i.stopped_at IS NULL AND i.lease_until > now()))
      ORDER BY j.created_at, j.id FOR UPDATE OF j SKIP LOCKED`,
    [self, trustLeases],
  );
  return rows.map(toJob);
}

/** The job of a request that still needs someone: running, at its print step, or failed (to retry or cancel). */
export async function openJobForRequest(db: Queryable, requestId: string): Promise<IssuanceJob | null> {
  const rows = await db.query<JobRow>(
    `SELECT * FROM issuance_jobs WHERE request_id = $1 AND status IN ('running', 'awaiting_confirmation', 'failed')
      ORDER BY created_at DESC, id DESC LIMIT 1`,
    [requestId],
  );
  return rows[0] ? toJob(rows[0]) : null;
}

/** The card is encoded and printed: the job waits at the print step (reference 002). */
export async function awaitConfirmation(tx: Queryable, id: string, step: string, at: Date): Promise<void> {
  await tx.query(
    `UPDATE issuance_jobs SET status = 'awaiting_confirmation', progress = 100, step = $2, updated_at = $3
      WHERE id = $1`,
    [id, step, at],
  );
}

/**
 * Hands a running job to the server instance holding its card's agent (issue #20): that one claims
 * it (claimQueuedRuns, queued-job-claim.ts) and runs it. `dispatch` says how (who started it, wipe first, print only).
 */
export async function queueJobFor(
  db: Queryable,
  id: string,
  owner: string,
  dispatch: Record<string, unknown>,
  /** The word that wakes the owner, said by this statement at its commit (when it queued the job). */
  notify: { channel: string; payload: string } | null = null,
): Promise<void> {
  const queue = `UPDATE issuance_jobs SET owner_instance = $2, awaiting_owner = true,
       options = options || jsonb_build_object('dispatch', $3::jsonb)
     WHERE id = $1 AND status = 'running'`;
  const params = [id, owner, JSON.stringify(dispatch)];
  if (!notify) await db.query(queue, params);
  else
    await db.query(`WITH q AS (${queue} RETURNING id) SELECT pg_notify($4, $5) FROM q`, [
      ...params,
      notify.channel,
      notify.payload,
    ]);
}

// The claim of the queued jobs, with what each run reads: queued-job-claim.ts.
