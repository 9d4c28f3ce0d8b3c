// Cancel after a failure (reference 001): the device leaves the person and waits to be recycled;
// the failed attempt's certificates are revoked and its initial PIN dropped.
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db } from '../../store/db.js';
import { getDevice } from '../../store/devices-repo.js';
import { finishJob, getJob } from '../../store/jobs-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { AttemptRevocation } from './attempt-revocation.js';
import { moveDevice } from './device-move.js';
import type { InitialPinVault } from './initial-pin.js';
import type { IssuanceJobs } from './issuance-jobs.js';
import type { JobChanges } from './job-progress.js';
import type { RequestLink } from './request-link.js';
import { jobView, type JobOptions, type JobView } from './job-view.js';
import { holdPending } from './print-step.js';

export class IssuanceCancel {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      jobs: Pick<IssuanceJobs, 'get'>;
      attempts: Pick<AttemptRevocation, 'revoke'>;
      pins: Pick<InitialPinVault, 'drop'>;
      changes: JobChanges;
      /** A request whose device this was lets it go (and can take another). */
      requests?: Pick<RequestLink, 'abandoned' | 'heldPending'>;
    },
  ) {}

  /** Cancel after a failure: the device leaves the person and waits to be recycled. */
  async cancel(actor: Actor, jobId: string): Promise<JobView> {
    const { db, clock } = this.deps;
    const before = await this.deps.jobs.get(jobId);
    if (before.status !== 'failed')
      throw new ConflictError(`Only a failed issuance can be cancelled; this one is ${before.status}`);
    // Encoded but not printed (reference 002): the card is whole, so it is held back as pending,
    // never half-deleted; it can be activated or recycled later.
    if ((before.options as JobOptions).print?.encoded) return this.#holdEncoded(actor, jobId);
    await this.deps.attempts.revoke(actor, before.deviceId);
    const out = await db.transaction(async (tx) => {
      const job = (await getJob(tx, jobId, true)) ?? null;
      if (!job) throw new NotFoundError('issuance job', jobId);
      if (job.status !== 'failed')
        throw new ConflictError(`Only a failed issuance can be cancelled; this one is ${job.status}`);
      const at = clock.now();
      // The request (locked before the device) no longer waits for this card.
      if (job.requestId) await this.deps.requests?.abandoned(tx, actor, job.deviceId, at);
      const d = (await getDevice(tx, job.deviceId, true))!;
      await moveDevice(tx, d, 'cancel', { userId: null, policyId: null }, at);
      await this.deps.pins.drop(tx, d.id);
      const j = await finishJob(tx, job.id, 'cancelled', job.error, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.cancelled',
        targetType: 'device',
        targetId: d.id,
        details: { jobId, userId: job.userId },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return j;
    });
    this.deps.changes.publish(jobId);
    return jobView(out);
  }

  async #holdEncoded(actor: Actor, jobId: string): Promise<JobView> {
    const out = await this.deps.db.transaction(async (tx) => {
      const job = (await getJob(tx, jobId, true))!;
      if (job.status !== 'failed')
        throw new ConflictError(`Only a failed issuance can be cancelled; this one is ${job.status}`);
      await holdPending(tx, this.deps, actor, job, this.deps.clock.now());
      return (await getJob(tx, jobId))!;
    });
    this.deps.changes.publish(jobId);
    return jobView(out);
  }
}
