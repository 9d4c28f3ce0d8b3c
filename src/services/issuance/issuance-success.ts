// The success end of an issuance job (the runner's, or the print step's Continue): the job succeeds,
// its device becomes active with its dates, and what else the job brings — the request completed, a
// restored key installed, a mobile ID, the person's self set-up — commits with it and its audit
// event, in one statement for a plain card or one transaction.
import type { CheckedCard } from '../card-conformance.js';
import { deviceMachine } from '../../domain/device.js';
import { must } from '../../domain/errors.js';
import { jobTransition } from '../../domain/issuance-job.js';
import { appendAudit, type AuditInput } from '../../store/audit-repo.js';
import { installCredential } from '../../store/credentials-repo.js';
import type { Db } from '../../store/db.js';
import { putDeviceConformance } from '../../store/device-conformance-repo.js';
import type { Device } from '../../store/devices-repo.js';
import { writeIssuanceSuccess } from '../../store/issuance-success-writer.js';
import { finishJob, finishRunningAttempt, getJob, mergeJobOptions } from '../../store/jobs-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import { auditActor, type Actor, type Clock, type SelfSetUpDone } from '../context.js';
import { attemptEnded } from './attempt-ended.js';
import { moveDeviceById } from './device-move.js';
import { keepsInitialPinAfterSuccess, type InitialPinVault } from './initial-pin.js';
import type { JobChanges } from './job-progress.js';
import type { IssuanceJob, JobOptions } from './job-view.js';
import type { MobileIdJobOutcome } from './mobile-id-job-outcome.js';
import type { RequestLink, RestoredKey } from './request-link.js';

/** What the success end writes with and tells (the runner's own deps). */
export interface SuccessDeps {
  db: Db;
  clock: Clock;
  pins: Pick<InitialPinVault, 'drop'>;
  changes: JobChanges;
  /** Completes the request an issuance was started for, in its success transaction. */
  requests?: RequestLink;
  onSelfIssued?: SelfSetUpDone;
  mobileIds?: Pick<MobileIdJobOutcome, 'succeeded'>;
}

/** The job's success and what it ends with. */
export interface JobSuccess {
  device: Device;
  policy: Policy;
  /** How many certificates the run issued (null: not counted here, a printed card's Continue). */
  certificates: number | null;
  correlationId: string;
  restores?: readonly RestoredKey[];
  /** Confirmed at the print step: the dates printed on the card. */
  printed?: { issuedAt: Date; expiresAt: Date };
  /** The card's read-back report, stored with the success (null: none made here). */
  checked?: CheckedCard | null;
}

/**
 * Ends the job succeeded; refused (the device machine's error, attemptEnded, or a second Continue's
 * 409) when it no longer can, writing nothing.
 */
export async function succeedIssuance(
  deps: SuccessDeps,
  actor: Actor,
  job: IssuanceJob,
  { device, policy, certificates, correlationId, restores = [], printed, checked = null }: JobSuccess,
): Promise<void> {
  const opts = job.options as JobOptions;
  const requests = job.requestId ? deps.requests : undefined;
  const at = deps.clock.now();
  const dates = printed ?? {
    issuedAt: at,
    expiresAt: new Date(at.getTime() + validityDaysOf(job, policy) * 86_400_000),
  };
  const succeeded: AuditInput = {
    actor: auditActor(actor),
    action: 'issuance.succeeded',
    targetType: 'device',
    targetId: device.id,
    details: {
      jobId: job.id,
      userId: job.userId,
      policyId: policy.id,
      ...(certificates === null ? {} : { certificates }),
      attempt: job.attempt,
      requestId: job.requestId,
      ...(printed ? { printed: true } : {}),
    },
    correlationId,
    at,
  };
  const selfIssued = !!deps.onSelfIssued && !!job.userId && actor.id === job.userId;
  // A plain card's end is one statement (store/issuance-success-writer.ts) carrying the job's
  // NOTIFY. What else may write at the end (a request completed, a restored key installed, a mobile
  // ID, the person's self set-up, a printed card's Continue) takes the transaction below.
  if (!requests && !printed && restores.length === 0 && !opts.mobileId && !selfIssued) {
    const word = deps.changes.carry?.(job.id) ?? null;
    const rule = deviceMachine.table.succeed;
    const done = await writeIssuanceSuccess(deps.db, {
      jobId: job.id,
      attempt: job.attempt,
      deviceId: device.id,
      move: { from: rule.from, to: rule.to, ...dates },
      conformance: checked,
      dropInitialPin: !keepsInitialPinAfterSuccess(opts.pinMode),
      jobOptions: opts.changePinAtEnd ? { pinChangePending: true } : null,
      audit: succeeded,
      notify: word?.notify ?? null,
      at,
    });
    if (done) {
      if (word) word.here();
      else deps.changes.publish(job.id);
      return;
    }
    // The job's attempt was ended elsewhere, or the device left issuing meanwhile: nothing was
    // written. The path below refuses (read and locked) with the device machine's error or
    // attemptEnded, and the run fails the job only if this attempt still runs (the runner's #fail).
  }
  const changed = await deps.db.transaction(async (tx) => {
    // The job is locked first, then the request, then the device: the order of the recovery
    // sweep, #fail, Cancel and the print step's Cancel. Locking the device first deadlocked with a
    // sweep that took the job and then waited for the device (issue #20).
    if (printed) {
      // Two Continues at once: the second finds the job succeeded and is refused (409).
      const current = (await getJob(tx, job.id, true))!;
      must(jobTransition(current.status, 'confirm'));
      await finishJob(tx, job.id, 'succeeded', null, at);
    } else if (!(await finishRunningAttempt(tx, job.id, job.attempt, 'succeeded', null, at)))
      // Only while this run's attempt still runs: a run paused past its lease, failed by a
      // recovery sweep and retried, ends nothing (issue #20). Its UPDATE is the job's lock.
      throw attemptEnded(job);
    // The request before the device (the replacement's lock order).
    const request = requests ? await requests.lockForCompletion(tx, job.requestId!) : null;
    // Locked and moved by one UPDATE (refused with the machine's error if no longer issuing).
    const active = await moveDeviceById(tx, device.id, 'succeed', dates, at);
    if (checked) await putDeviceConformance(tx, device.id, checked.report, checked.at);
    // The restored key-management credential is now (also) on this device.
    for (const r of restores) await installCredential(tx, r.credentialId, device.id, at);
    if (!keepsInitialPinAfterSuccess(opts.pinMode)) await deps.pins.drop(tx, device.id);
    // A mobile ID becomes active with its device (or, cancelled meanwhile, refuses: the job fails).
    if (opts.mobileId) await deps.mobileIds?.succeeded(tx, actor, job, active, at);
    if (selfIssued) await deps.onSelfIssued?.(tx, actor, job.userId);
    if (opts.changePinAtEnd) await mergeJobOptions(tx, job.id, { pinChangePending: true });
    await appendAudit(tx, succeeded);
    // The replacement completes with its device, CA status included, or neither does.
    return request && requests ? requests.complete(tx, { ...actor, correlationId }, request, active, at) : [];
  });
  if (requests && changed.length) await requests.publishAfterCommit(changed);
  deps.changes.publish(job.id);
}

/** The device's validity in days: the policy's, or the short one its job was started with. */
export function validityDaysOf(job: IssuanceJob, policy: Policy): number {
  const days = (job.options as Partial<JobOptions>).validityDays;
  return typeof days === 'number' && days > 0 ? days : policy.deviceValidityDays;
}
