// What issuance tells the mobile ID order (reference 004) its job was started for. A module of its
// own so that the runner and its success end (issuance-success.ts) share it without importing each
// other (no import circles); issuance-runner.ts still exports it.
import type { Queryable } from '../../store/db.js';
import type { Device } from '../../store/devices-repo.js';
import type { Policy } from '../../store/policies-repo.js';
import type { Actor } from '../context.js';
import type { IssuanceJob, JobError } from './job-view.js';
import type { RestoredKey } from './request-link.js';

/**
 * A mobile ID order (reference 004) follows its issuance job: told in the job's own success or
 * failure transaction (so the order's state, its audit and its notification commit with the job's),
 * and once more after a failure is committed (to revoke what a cancelled order's attempt issued).
 */
export interface MobileIdJobOutcome {
  succeeded(tx: Queryable, actor: Actor, job: IssuanceJob, device: Device, at: Date): Promise<void>;
  failed(tx: Queryable, actor: Actor, job: IssuanceJob, error: JobError, at: Date): Promise<void>;
  afterFailure(actor: Actor, job: IssuanceJob): Promise<void>;
  /** The person's archived key-management key to restore onto the phone (the policy's option). */
  keysToRestore?(actor: Actor, job: IssuanceJob, deviceId: string, policy: Policy): Promise<RestoredKey[]>;
}
