// One issuance as the operator watches it: a progress bar with the current step until the job
// ends; on failure the error (code, message, correlation id, Copy) with Retry — same device, same
// policy — and Cancel, which takes the device away from the person; on success with "change PIN
// during issuance", the new PIN. Closing the dialog loses nothing: the User page offers Retry and
// Cancel on a failed device from its latest job.
import { useEffect, useRef } from 'react';
import { api } from '../api';
import { Dialog } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import type { IssuanceJob } from '../types';
import { JobProgress, jobErrorOf } from './JobProgress';
import { NewPinForm } from './NewPinForm';
import { useJob } from './useJob';

interface Props {
  jobId: string;
  initial?: IssuanceJob | null;
  /** Called when the operator closes the dialog. */
  onClose: () => void;
  /** Called whenever the job reaches an end, so the page behind can refresh. */
  onSettled: () => void;
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
      {pinChange && job && (
        <NewPinForm
          rules={() => api.policies.get(job.policyId).then((p) => p.pinPolicy)}
          setPin={(pin, confirmation) => api.issuance.changePin(job.id, pin, confirmation)}
          onDone={(j) => setJob(j)}
        >
          The device is personalized. Choose its PIN now: the person will use it from the first day. The
          initial PIN Tessera set is replaced.
        </NewPinForm>
      )}
      <ErrorPanel error={act.error} title="That did not work" />
      <ErrorPanel error={error} title="Lost track of the issuance; trying again" />
    </Dialog>
  );
}
