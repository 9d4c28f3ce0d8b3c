// The PIN change at the end of issuance (initial PIN "not displayed" with "change PIN during
// issuance", and every self-issuance): the person sets their own PIN on the card, replacing the
// random initial PIN, which is then forgotten.
import { ConflictError, ValidationError } from '../../domain/errors.js';
import { checkPin } from '../../domain/pin-policy.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Db } from '../../store/db.js';
import { getDevice } from '../../store/devices-repo.js';
import { getJob, mergeJobOptions } from '../../store/jobs-repo.js';
import { getPolicy } from '../../store/policies-repo.js';
import { auditActor, type Actor, type Clock } from '../context.js';
import { closeQuietly, type CardReader } from './card-reader.js';
import type { InitialPinVault } from './initial-pin.js';
import type { IssuanceJobs } from './issuance-jobs.js';
import type { JobChanges } from './job-progress.js';
import { jobView, type JobOptions, type JobView } from './job-view.js';

export class PinChangeAtEnd {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      jobs: Pick<IssuanceJobs, 'get'>;
      cards: CardReader;
      pins: Pick<InitialPinVault, 'get' | 'drop'>;
      changes: JobChanges;
    },
  ) {}

  async change(actor: Actor, jobId: string, newPin: string, confirmation: string): Promise<JobView> {
    const { db, clock } = this.deps;
    const job = await this.deps.jobs.get(jobId);
    const opts = job.options as JobOptions;
    if (job.status !== 'succeeded' || !opts.pinChangePending)
      throw new ConflictError('No PIN change is waiting for this issuance');
    if (newPin !== confirmation)
      throw new ValidationError('The PIN and its confirmation differ', { field: 'confirmation' });
    const policy = (await getPolicy(db, job.policyId))!;
    const problems = checkPin(newPin, policy.pinPolicy);
    if (problems.length)
      throw new ValidationError(
        `The PIN does not meet the policy: ${problems.map((p) => p.message).join('; ')}`,
        { field: 'pin' },
      );
    const device = (await getDevice(db, job.deviceId))!;
    const initialPin = await this.deps.pins.get(db, device.id);
    if (initialPin === null)
      throw new ConflictError(
        'The initial PIN of this device is no longer held: the PIN was changed already',
      );
    const { conn, session } = await this.deps.cards.openDevice(actor.id ?? job.userId, opts, device);
    try {
      await session.changePin(initialPin, newPin);
    } finally {
      await closeQuietly(conn);
    }
    const out = await db.transaction(async (tx) => {
      const at = clock.now();
      await this.deps.pins.drop(tx, device.id);
      await mergeJobOptions(tx, jobId, { pinChangePending: false }, at);
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.pin_changed',
        targetType: 'device',
        targetId: device.id,
        details: { jobId, during: 'issuance' },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return (await getJob(tx, jobId))!;
    });
    this.deps.changes.publish(jobId);
    return jobView(out);
  }
}
