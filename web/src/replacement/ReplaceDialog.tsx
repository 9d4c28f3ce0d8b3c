// Replace… on a device of the User page (reference 003): the reason (which decides permanent or
// temporary), the workflow that delivers the new device, and optionally a blank device bound to the
// person at once. Submitting puts the device and its certificates on hold straight away, so the
// dialog says so before the operator confirms.
import { useId, useState, type FormEvent } from 'react';
import { api } from '../api';
import { Dialog } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type { Device, ReplacementReason, RequestDetail, RequestWorkflow } from '../types';

export const REASON_TEXT: Record<ReplacementReason, string> = {
  lost: 'Lost — a new device; the old certificates are revoked as compromised',
  stolen: 'Stolen — as lost',
  damaged: 'Damaged — a new device; the old one is retired',
  expired: 'Expired — a new device; the old one is retired',
  forgotten: 'Forgotten — a temporary device until the card is found',
};
const REASONS = Object.keys(REASON_TEXT) as ReplacementReason[];

export const WORKFLOW_TEXT: Record<RequestWorkflow, string> = {
  local_issuance: 'Local issuance — an issuance officer personalizes the new device',
  self_enrollment: 'Self-enrollment — the person sets up the new device in the user portal',
  remote_issuance: 'Remote issuance — the person enrolls on their phone (mobile smart cards only)',
};
const WORKFLOWS = Object.keys(WORKFLOW_TEXT) as RequestWorkflow[];

interface Props {
  device: Device;
  personName: string;
  onClose: () => void;
  onDone: (r: RequestDetail) => void;
}

export function ReplaceDialog({ device, personName, onClose, onDone }: Props) {
  const { can } = useSession();
  const id = useId();
  const [reason, setReason] = useState<ReplacementReason | ''>('');
  const [workflow, setWorkflow] = useState<RequestWorkflow>('local_issuance');
  const [replacementId, setReplacementId] = useState('');
  const [note, setNote] = useState('');
  const action = useAction();
  // Blank devices of the inventory, for "bind one now" (needs device.bind).
  const blank = useLoad(
    () =>
      can('device.bind')
        ? api.devices.list({ state: 'inventory', limit: 100 })
        : Promise.resolve({ items: [], total: 0 }),
    [],
  );
  const remoteAllowed = device.type === 'mobile';
  const bindable = workflow !== 'remote_issuance' && can('device.bind');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!reason) return;
    const made = await action.run(() =>
      api.devices.replace(device.id, {
        reason,
        workflow,
        ...(bindable && replacementId ? { replacementDeviceId: replacementId } : {}),
        ...(note.trim() ? { note: note.trim() } : {}),
      }),
    );
    if (made) onDone(made);
  };

  return (
    <Dialog
      open
      wide
      title={`Replace device ${device.serial}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-form`}
            className="btn btn-primary"
            disabled={!reason || action.busy}
          >
            {action.busy ? 'Requesting…' : 'Request replacement'}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} className="form" onSubmit={(e) => void submit(e)}>
        <fieldset className="checks">
          <legend>Reason</legend>
          {REASONS.map((r) => (
            <div key={r} className="check">
              <input
                type="radio"
                id={`${id}-reason-${r}`}
                name={`${id}-reason`}
                checked={reason === r}
                onChange={() => setReason(r)}
              />
              <label htmlFor={`${id}-reason-${r}`}>{REASON_TEXT[r]}</label>
            </div>
          ))}
        </fieldset>
        <fieldset className="checks">
          <legend>Workflow</legend>
          {WORKFLOWS.map((w) => (
            <div key={w} className="check">
              <input
                type="radio"
                id={`${id}-wf-${w}`}
                name={`${id}-wf`}
                checked={workflow === w}
                disabled={w === 'remote_issuance' && !remoteAllowed}
                onChange={() => setWorkflow(w)}
              />
              <label htmlFor={`${id}-wf-${w}`}>
                {WORKFLOW_TEXT[w]}
                {w === 'remote_issuance' && !remoteAllowed && (
                  <span className="muted"> — not for a {device.type === 'piv_token' ? 'token' : 'card'}</span>
                )}
              </label>
            </div>
          ))}
        </fieldset>
        {bindable && (
          <div className="field">
            <label htmlFor={`${id}-device`}>Replacement device (optional)</label>
            <select
              id={`${id}-device`}
              value={replacementId}
              onChange={(e) => setReplacementId(e.target.value)}
            >
              <option value="">Choose later</option>
              {(blank.data?.items ?? []).map((d) => (
                <option key={d.id} value={d.id}>
                  {d.serial} — {d.model}
                </option>
              ))}
            </select>
            <p className="muted small">A blank device from the inventory, bound to {personName} now.</p>
          </div>
        )}
        <div className="field">
          <label htmlFor={`${id}-note`}>Note (kept in the request’s history)</label>
          <input id={`${id}-note`} maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
        </div>
        <p className="notice">
          The device {device.serial} becomes invalid and every certificate on it is put on hold at once.
          Cancelling the request puts them back.
        </p>
        <ErrorPanel error={blank.error} title="Could not list the blank devices" />
        <ErrorPanel error={action.error} title="The replacement was not requested" />
      </form>
    </Dialog>
  );
}
