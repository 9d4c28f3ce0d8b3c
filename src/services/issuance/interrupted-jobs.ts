// Jobs left running by a server that died are failed as interrupted (their card may be half-written,
// so Retry wipes it first) and their certificates revoked. A server sweeps at start-up and then
// every so often: with several servers, a job is another's until that server's lease runs out
// (services/cluster/instance-registry.ts), and exactly one sweeper claims it (SKIP LOCKED).
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db } from '../../store/db.js';
import { getDevice } from '../../store/devices-repo.js';
import { claimOrphanedJobs, finishJob, mergeJobOptions, type JobError } from '../../store/jobs-repo.js';
import { auditActor, systemActor, type Clock } from '../context.js';
import type { AttemptRevocation } from './attempt-revocation.js';
import { moveDevice } from './device-move.js';
import type { MobileIdJobOutcome } from './issuance-runner.js';

/** Which jobs this process is running (those are not interrupted). */
export interface RunningJobs {
  isRunning(jobId: string): boolean;
}

export class InterruptedJobs {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      running: RunningJobs;
      attempts: Pick<AttemptRevocation, 'revoke'>;
      instance: { id: string; trustLeases: boolean };
      /** A mobile ID whose job was interrupted fails with it (in the same transaction). */
      mobileIds?: Pick<MobileIdJobOutcome, 'failed'>;
    },
  ) {}

  /** Fails every job its server left running, revokes their certificates; returns how many there were. */
  async recover(): Promise<number> {
    const { db, clock, instance } = this.deps;
    const actor = systemActor('system (recovery)');
    const devices = await db.transaction(async (tx) => {
      const jobs = await claimOrphanedJobs(tx, instance.id, instance.trustLeases);
      for (const job of jobs) {
        if (this.deps.running.isRunning(job.id)) continue;
        const at = clock.now();
        const error: JobError = {
          code: 'interrupted',
          message:
            'The server stopped while this issuance was running: retry it (the card is reset first) or cancel it',
          correlationId: randomUUID(),
        };
        await finishJob(tx, job.id, 'failed', error, at);
        await mergeJobOptions(tx, job.id, { cardTouched: true });
        if ((job.options as { mobileId?: string }).mobileId)
          await this.deps.mobileIds?.failed(tx, actor, job, error, at);
        const d = (await getDevice(tx, job.deviceId, true))!;
        if (d.state === 'issuing') await moveDevice(tx, d, 'fail', {}, at);
        await appendAudit(tx, {
          actor: auditActor(actor),
          action: 'issuance.interrupted',
          targetType: 'device',
          targetId: d.id,
          details: { jobId: job.id, attempt: job.attempt },
          correlationId: error.correlationId,
          at,
        });
      }
      // A card encoded before the server stopped (only its print was interrupted) keeps its
      // certificates: a retry prints it again, a cancel holds it as pending.
      return jobs
        .filter((j) => !this.deps.running.isRunning(j.id))
        .filter((j) => !(j.options as { print?: { encoded?: boolean } }).print?.encoded)
        .map((j) => j.deviceId);
    });
    for (const deviceId of devices) await this.deps.attempts.revoke(actor, deviceId);
    return devices.length;
  }

  /** Sweeps every `intervalMs`; sweeps run one after another. Returns the function that stops it. */
  startScheduler(o: { intervalMs: number; onError: (err: unknown) => void }): () => void {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.recover()).catch(o.onError);
    }, o.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
