// One issuance as the operator watches it: a progress bar with the current step until the job
// ends; on failure the error (code, message, correlation id, Copy) with Retry — same device, same
// policy — and Cancel, which takes the device away from the person; on success with "change PIN
// during issuance", the new PIN. Closing the dialog loses nothing: the User page offers Retry and
// Cancel on a failed device from its latest job. A printed card (reference 002) stops at the print
// step: the card as printed (both sides), the printer and its job, Continue (the device becomes
// active) or Cancel (it stays pending).
import { useEffect, useRef } from 'react';
import { api } from '../api';
import { Dialog } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { PdfPreview } from '../components/PdfPreview';
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
      // An encoded card is held as pending: say so before closing; otherwise back to the User page.
      if (!j.print?.encoded) onClose();
    }
  };

  const confirm = async () => {
    const j = await act.run(() => api.issuance.printContinue(jobId));
    if (j) setJob(j);
  };
  const hold = async () => {
    const j = await act.run(() => api.issuance.printCancel(jobId));
    if (j) setJob(j);
  };

  const failed = status === 'failed';
  const printStep = status === 'awaiting_confirmation';
  const encoded = job?.print?.encoded === true;
  const pinChange = status === 'succeeded' && job?.pinChangePending;
  const title = failed
    ? job?.error?.code === 'print_failed' || job?.error?.code === 'render_failed' || encoded
      ? 'The card was not printed'
      : 'The issuance failed'
    : printStep
      ? 'Check the printed card'
      : pinChange
        ? 'Set the new PIN'
        : status === 'succeeded'
          ? 'Device issued'
          : status === 'cancelled'
            ? encoded
              ? 'Card not activated: pending'
              : 'Issuance cancelled'
            : job?.print
              ? 'Issuing and printing the card…'
              : 'Issuing the device…';

  return (
    <Dialog
      open
      title={title}
      onClose={onClose}
      wide
      footer={
        printStep ? (
          <>
            <button type="button" className="btn" disabled={act.busy} onClick={() => void hold()}>
              Cancel (do not activate)
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={act.busy}
              onClick={() => void confirm()}
            >
              {act.busy ? 'Working…' : 'Continue'}
            </button>
          </>
        ) : failed ? (
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
      {job && !failed && !pinChange && !printStep && !(status === 'cancelled' && encoded) && (
        <JobProgress job={job} />
      )}
      {printStep && job?.print && (
        <>
          <p>
            The card is encoded and was printed on <strong>{job.print.printerName}</strong> (print job{' '}
            <span className="mono">{job.print.printJobId ?? '—'}</span>). Check it against what was sent to
            the printer:
          </p>
          <PdfPreview
            load={() => api.issuance.printed(job.id)}
            deps={[job.id, job.print.printJobId]}
            label={`The card as printed on ${job.print.printerName}`}
          />
          <ul className="notes">
            <li>
              <strong>Continue</strong>: the card is right; the device becomes active.
            </li>
            <li>
              <strong>Cancel</strong>: the card is not activated. It stays <em>pending</em> on the User page,
              where it can be activated or recycled later.
            </li>
          </ul>
        </>
      )}
      {status === 'cancelled' && encoded && (
        <p className="notice">
          The card was not activated: it is <strong>pending</strong> on the User page, where it can be
          activated or recycled later.
        </p>
      )}
      {failed && job && (
        <>
          <ErrorPanel error={jobErrorOf(job)} title={`Issuance failed at “${job.step}”`} />
          {encoded ? (
            <ul className="notes">
              <li>
                The card is encoded; only drawing or printing it failed. Fix the printer, then{' '}
                <strong>Retry</strong>: the card is printed again (it is not encoded again).
              </li>
              <li>
                <strong>Cancel issuance</strong> does not activate the card: it stays <em>pending</em> on the
                User page, where it can be activated or recycled later.
              </li>
            </ul>
          ) : (
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
          )}
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
