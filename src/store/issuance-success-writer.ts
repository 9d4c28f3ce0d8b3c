// The end of a successful issuance of a plain card in one statement (docs/decisions/0038): the
// device moved to its active state by the guarded UPDATE of device-move.ts, the card's read-back
// report stored, the initial PIN dropped, the job ended, `issuance.succeeded` appended to the audit
// chain and, on PostgreSQL, the job's end said on the servers' NOTIFY channel. A transaction of its
// own cost BEGIN, five statements, COMMIT and a NOTIFY: eight round trips where one does.
//
// Every part is conditioned on the job still being the run's attempt (running, same attempt number)
// and on the device's UPDATE having matched: a run whose attempt was ended elsewhere (a recovery
// sweep failed it while this server was paused, and it may have been retried since, issue #20), or a
// device no longer in the action's from-states (cancelled meanwhile), leaves the statement without a
// row and nothing written or said, and the caller takes the general path, which reads, locks and
// refuses with a typed error. Autocommitted, the statement is its own transaction: all of it commits or
// none, and its NOTIFY is delivered at that commit (never after a rollback).
import type { DeviceState } from '../domain/device.js';
import { auditChain, type AuditEvent, type AuditInput } from './audit-repo.js';
import type { Queryable } from './db.js';
import { toDevice, type Device, type DeviceRow } from './devices-repo.js';
import { toJob, type IssuanceJob, type JobRow } from './jobs-repo.js';

export interface IssuanceSuccess {
  jobId: string;
  /** The attempt the run started with: the success applies only while the job runs that attempt. */
  attempt: number;
  deviceId: string;
  /** The device machine's move (its from-states and its to-state) and the device's new dates. */
  move: { from: readonly DeviceState[]; to: DeviceState; issuedAt: Date; expiresAt: Date };
  /** The card's read-back report and when it was made (the device's last conformance report). */
  conformance: { report: unknown; at: Date } | null;
  /** Drops the device's initial PIN (no one needs to read it any more). */
  dropInitialPin: boolean;
  /** Merged into the job's options as it ends (pinChangePending). */
  jobOptions: Record<string, unknown> | null;
  audit: AuditInput;
  /** A NOTIFY the statement makes, delivered at its commit (the job's end for other servers). */
  notify: { channel: string; payload: string } | null;
  at: Date;
}

export interface IssuanceSucceeded {
  device: Device;
  job: IssuanceJob;
  audit: AuditEvent;
}

/**
 * Writes the success in one statement; null when the job is no longer running `attempt` or the
 * device was not in `move.from` (then nothing was written). Run it on the pool (its own transaction), or inside a transaction that commits it.
 */
export async function writeIssuanceSuccess(
  db: Queryable,
  s: IssuanceSuccess,
): Promise<IssuanceSucceeded | null> {
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const at = p(s.at);
  // The job's row is locked first, and only while it runs this attempt (a lock that waited re-reads
  // the row as committed: a job failed or retried meanwhile no longer matches). Then the device's
  // UPDATE, on which each other part waits (EXISTS): job, device, audit head — the order of the
  // recovery sweep, #fail, Retry and Cancel, which lock the job before its device.
  const moved = 'EXISTS (SELECT 1 FROM moved)';
  const ctes = [
    `run AS MATERIALIZED (SELECT id FROM issuance_jobs
                           WHERE id = ${p(s.jobId)} AND status = 'running' AND attempt = ${p(s.attempt)} FOR UPDATE)`,
    `moved AS (UPDATE devices SET state = ${p(s.move.to)}, issued_at = ${p(s.move.issuedAt)},
                      expires_at = ${p(s.move.expiresAt)}, updated_at = ${at}
                WHERE id = ${p(s.deviceId)} AND state = ANY(${p(s.move.from)}::text[])
                  AND EXISTS (SELECT 1 FROM run) RETURNING *)`,
    // As putDeviceConformance (device-conformance-repo.ts) does.
    ...(s.conformance
      ? [
          `conformance AS (INSERT INTO device_conformance (device_id, report, checked_at)
                           SELECT id, ${p(JSON.stringify(s.conformance.report))}::jsonb, ${p(s.conformance.at)}::timestamptz FROM moved
                           ON CONFLICT (device_id) DO UPDATE SET report = EXCLUDED.report, checked_at = EXCLUDED.checked_at)`,
        ]
      : []),
    // As InitialPinVault.drop (services/issuance/initial-pin.ts) does.
    ...(s.dropInitialPin
      ? [
          `pin AS (DELETE FROM device_secrets WHERE device_id = (SELECT id FROM moved) AND kind = 'initial_pin')`,
        ]
      : []),
    // As finishJob (jobs-repo.ts) does for 'succeeded', with the options merged.
    `job AS (UPDATE issuance_jobs SET status = 'succeeded', error = NULL, finished_at = ${at}, updated_at = ${at},
                    progress = 100, options = options || ${p(JSON.stringify(s.jobOptions ?? {}))}::jsonb
              WHERE id = (SELECT id FROM run) AND ${moved} RETURNING *)`,
  ];
  // No parents to lock first: the statement's only new foreign key (the report's) names the device
  // its UPDATE locked before the head, and what it writes after the head (the report's row, the PIN's
  // row) is locked by others only once they hold the device.
  const audit = auditChain([s.audit], params, { when: 'EXISTS (SELECT 1 FROM job)' });
  const e = audit.events[0]!;
  const notify = s.notify
    ? `, pg_notify(${p(s.notify.channel)}, ${p(s.notify.payload)})::text AS notified`
    : '';
  const rows = await db.query<{ device: DeviceRow; job: JobRow; seq: number; prev: string; hash: string }>(
    `WITH ${ctes.join(',\n')},
          ${audit.ctes}
     SELECT to_jsonb(moved) AS device, to_jsonb(job) AS job, ${e}.seq, ${e}.prev, ${e}.hash${notify}
       FROM moved, job, ${e}`,
    params,
  );
  const row = rows[0];
  // The job, the device and the chain's head always exist: no row means the job was no longer this
  // running attempt or the device's UPDATE missed.
  if (!row) return null;
  const event = { ...audit.partials[0]!, seq: Number(row.seq), prevHash: row.prev, hash: row.hash };
  return { device: toDevice(row.device), job: toJob(row.job), audit: event };
}
