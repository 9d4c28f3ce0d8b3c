// The progress of one issuance: the current step (announced to screen readers), a progress bar and
// the attempt. The operator's issuance dialog and the user portal show the same bar.
import { ApiError } from '../api';
import type { IssuanceJob } from '../types';

/** The job's error in the shape ErrorPanel shows and copies. */
export function jobErrorOf(job: IssuanceJob): ApiError | null {
  if (!job.error) return null;
  return new ApiError(
    0,
    job.error.code,
    job.error.message,
    job.error.detail ? { detail: job.error.detail } : undefined,
    job.error.correlationId,
  );
}

export function JobProgress({ job }: { job: IssuanceJob }) {
  const value = Math.max(0, Math.min(100, job.progress));
  return (
    <div className="job-progress">
      <p className="job-progress__step" aria-live="polite">
        {job.status === 'succeeded' ? 'Done: the device is issued.' : job.step}
      </p>
      <div
        className={`progress${job.status === 'succeeded' ? ' progress--done' : ''}`}
        role="progressbar"
        aria-label="Issuance progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value}% — ${job.step}`}
      >
        <div className="progress__bar" style={{ width: `${value}%` }} />
      </div>
      <p className="muted small">
        {value}% · attempt {job.attempt}
        {job.status === 'running' && ' · Do not remove the device from the reader.'}
      </p>
    </div>
  );
}
