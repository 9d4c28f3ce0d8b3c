// Retry after a failure (reference 001): the same device, person and policy, in the reader of the
// last attempt or where the card is now. The failed attempt's certificates are revoked first, and
// a card the attempt already wrote to is wiped before it is personalized again.
import { deviceTransition, type DeviceState } from '../../domain/device.js';
import { ConflictError, must } from '../../domain/errors.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db } from '../../store/db.js';
import { getDevice } from '../../store/devices-repo.js';
import { getJob, mergeJobOptions, restartJob } from '../../store/jobs-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import type { AttemptRevocation } from './attempt-revocation.js';
import { release, type CardReader, type CardRef } from './card-reader.js';
import { moveDevice } from './device-move.js';
import type { IssuanceJobs } from './issuance-jobs.js';
import type { CardJobLauncher } from './job-dispatch.js';
import { jobView, type JobOptions, type JobView } from './job-view.js';

export class IssuanceRetry {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      jobs: Pick<IssuanceJobs, 'get'>;
      cards: CardReader;
      attempts: Pick<AttemptRevocation, 'revoke'>;
      runner: CardJobLauncher;
    },
  ) {}

  async retry(actor: Actor, jobId: string, card?: CardRef): Promise<JobView> {
    const { db, clock } = this.deps;
    const job = await this.deps.jobs.get(jobId);
    const opts = job.options as JobOptions;
    if (job.status !== 'failed')
      throw new ConflictError(`Only a failed issuance can be retried; this one is ${job.status}`);
    const device = (await getDevice(db, job.deviceId))!;
    // The card is encoded, only its print failed: print it again, without touching the card.
    if (opts.print?.encoded) return this.#reprint(actor, job, device.state);
    const ref = card ?? { agentId: opts.agentId, reader: opts.reader };
    const opened = await this.deps.cards.reachDevice(actor.id ?? job.userId, ref, device);
    try {
      must(deviceTransition(device.state, 'retry'));
      await this.deps.attempts.revoke(actor, device.id);
      const restarted = await db.transaction(async (tx) => {
        const at = clock.now();
        // The job first, then the device: the lock order of the recovery sweep, the run's end and
        // Cancel (a Cancel at once deadlocked with a Retry that locked the device first).
        const current = (await getJob(tx, job.id, true))!;
        if (current.status !== 'failed')
          throw new ConflictError(`Only a failed issuance can be retried; this one is ${current.status}`);
        const d = (await getDevice(tx, job.deviceId, true))!;
        await moveDevice(tx, d, 'retry', {}, at);
        const j = await restartJob(tx, job.id, at, this.deps.runner.instanceId);
        await mergeJobOptions(tx, job.id, { agentId: ref.agentId, reader: ref.reader });
        await appendAudit(tx, {
          actor: auditActor(actor),
          action: 'issuance.retried',
          targetType: 'device',
          targetId: d.id,
          details: { jobId: job.id, attempt: j.attempt },
          correlationId: actor.correlationId ?? null,
          at,
        });
        return j;
      });
      await this.deps.runner.launch(actor, restarted, opened, opts.cardTouched === true);
      return jobView(restarted);
    } catch (e) {
      await release(opened);
      throw e;
    }
  }

  async #reprint(actor: Actor, job: JobView, state: DeviceState): Promise<JobView> {
    const { db, clock } = this.deps;
    must(deviceTransition(state, 'retry'));
    const restarted = await db.transaction(async (tx) => {
      const at = clock.now();
      // The job first, then the device (as above).
      const current = (await getJob(tx, job.id, true))!;
      if (current.status !== 'failed')
        throw new ConflictError(`Only a failed issuance can be retried; this one is ${current.status}`);
      const d = (await getDevice(tx, job.deviceId, true))!;
      await moveDevice(tx, d, 'retry', {}, at);
      const j = await restartJob(tx, job.id, at, this.deps.runner.instanceId);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'issuance.retried',
        targetType: 'device',
        targetId: d.id,
        details: { jobId: job.id, attempt: j.attempt, printOnly: true },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return j;
    });
    await this.deps.runner.launchPrint(actor, restarted);
    return jobView(restarted);
  }
}
