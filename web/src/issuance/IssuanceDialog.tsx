// One issuance as the operator watches it: a progress bar with the current step until the job
// ends; on failure the error (code, message, correlation id, Copy) with Retry — same device, same
// policy — and Cancel, which takes the device away from the person; on success with "change PIN
// during issuance", the new PIN. Closing the dialog loses nothing: the User page offers Retry and
// Cancel on a failed device from its latest job.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { Dialog } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import type { IssuanceJob } from '../types';
import { PinEntry, pinAcceptable, type PinValue } from './PinEntry';
import { useJob } from './useJob';

interface Props {
  jobId: string;
  initial?: IssuanceJob | null;
  /** Called when the operator closes the dialog. */
  onClose: () => void;
  /** Called whenever the job reaches an end, so the page behind can refresh. */
  onSettled: () => void;
}

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

export function IssuanceDialog({ jobId, initial, onClose, onSettled }: Props) {
  const { job, error, restart, setJob } = useJob(jobId, initial);
  const act = useAction();
  const status = job?.status ?? 'running';
  const settledKey = job && status !== 'running' ? `${status}:${job.attempt}:${job.pinChangePending}` : '';
  const onSettledRef = useRef(onSettled);
  onSettledRef.current = onSettled;
  useEffect(() => {
    if (settledKey) onSettledRef.current();
  }, [settledKey]);

  const retry = async () => {
    const j = await act.run(() => api.issuance.retry(jobId));
    if (j) restart(j);
  };
  const cancel = async () => {
    const j = await act.run(() => api.issuance.cancel(jobId));
    if (j) {
      setJob(j);
      onSettled();
      onClose();
    }
  };

  const failed = status === 'failed';
  const pinChange = status === 'succeeded' && job?.pinChangePending;
  const title = failed
    ? 'The issuance failed'
    : pinChange
      ? 'Set the new PIN'
      : status === 'succeeded'
        ? 'Device issued'
        : status === 'cancelled'
          ? 'Issuance cancelled'
          : 'Issuing the device…';

  return (
    <Dialog
      open
      title={title}
      onClose={onClose}
      wide
      footer={
        failed ? (
          <>
            <button type="button" className="btn" disabled={act.busy} onClick={() => void cancel()}>
              Cancel issuance
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={act.busy}
              onClick={() => void retry()}
            >
              {act.busy ? 'Working…' : 'Retry'}
            </button>
          </>
        ) : pinChange ? null : (
          <button type="button" className="btn" onClick={onClose}>
            {status === 'running' ? 'Hide (the issuance continues)' : 'Done'}
          </button>
        )
      }
    >
      {job && !failed && !pinChange && <JobProgress job={job} />}
      {failed && job && (
        <>
          <ErrorPanel error={jobErrorOf(job)} title={`Issuance failed at “${job.step}”`} />
          <ul className="notes">
            <li>
              <strong>Retry</strong> starts the issuance again on the same device with the same policy.{' '}
              <strong>Do not remove the device from the reader.</strong>
            </li>
            <li>To use a different policy or a different PIN, cancel this issuance and start a new one.</li>
            <li>
              <strong>Cancel issuance</strong> returns to the User page; the device is no longer assigned to
              this person and waits to be recycled.
            </li>
          </ul>
          <p className="muted small">Attempt {job.attempt}.</p>
        </>
      )}
      {pinChange && job && <NewPinForm job={job} onDone={(j) => setJob(j)} />}
      <ErrorPanel error={act.error} title="That did not work" />
      <ErrorPanel error={error} title="Lost track of the issuance; trying again" />
    </Dialog>
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

function NewPinForm({ job, onDone }: { job: IssuanceJob; onDone: (j: IssuanceJob) => void }) {
  const policy = useLoad(() => api.policies.get(job.policyId), [job.policyId]);
  const [value, setValue] = useState<PinValue>({ pin: '', confirmation: '' });
  const act = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const j = await act.run(() => api.issuance.changePin(job.id, value.pin, value.confirmation));
    if (j) onDone(j);
  };
  if (policy.error) return <ErrorPanel error={policy.error} title="Could not load the PIN rules" />;
  if (!policy.data) return <p>Loading the PIN rules…</p>;
  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <p>
        The device is personalized. Choose its PIN now: the person will use it from the first day. The initial
        PIN Tessera set is replaced.
      </p>
      <PinEntry policy={policy.data.pinPolicy} value={value} onChange={setValue} masked label="New PIN" />
      <ErrorPanel error={act.error} title="The PIN was not changed" />
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={act.busy || !pinAcceptable(policy.data.pinPolicy, value, true)}
        >
          {act.busy ? 'Setting the PIN…' : 'Set the PIN'}
        </button>
      </div>
    </form>
  );
}
