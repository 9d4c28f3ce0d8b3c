// The refusal of a run whose issuance attempt was ended elsewhere (issue #20, decision 0038): shared
// by the runner and the print step, which both write only for the run's own attempt.
import { DomainError } from '../../domain/errors.js';
import type { IssuanceJob } from './job-view.js';

/**
 * A recovery sweep failed the attempt (the server was paused past its lease) and it may have been
 * retried since: the run writes nothing more.
 */
export function attemptEnded(job: Pick<IssuanceJob, 'id' | 'attempt'>): DomainError {
  return new DomainError(
    'issuance_attempt_ended',
    'This issuance attempt was ended elsewhere (interrupted or retried): its result was not kept',
    { jobId: job.id, attempt: job.attempt },
  );
}

export function isAttemptEnded(e: unknown): boolean {
  return e instanceof DomainError && e.code === 'issuance_attempt_ended';
}

/** Whether the job (read locked) still runs `attempt`: else the run's writes are refused. */
export function runsAttempt(job: Pick<IssuanceJob, 'status' | 'attempt'> | null, attempt: number): boolean {
  return !!job && job.status === 'running' && job.attempt === attempt;
}
