// One replacement request (reference 003): what it is, the devices it concerns, its history (who did
// each step, when), and the steps this operator's role allows now — Approve / Reject (validation
// officer, not the person nor who submitted it), Cancel, Bind device, Issue replacement (the Add
// Device flow, started from the request). Each decision carries the version the operator looked
// at, so a request changed meanwhile is refused with the server's 409 saying what happened.
import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Dialog, DialogActions } from '../../components/Dialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { formatDateTime, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { AddDeviceDialog } from '../../issuance/AddDeviceDialog';
import { PhoneEnrolment } from '../../replacement/PhoneEnrolment';
import { IssuanceDialog } from '../../issuance/IssuanceDialog';
import { useSession } from '../../session';
import type { IssuanceJob, RequestDetail, RequestStep, User } from '../../types';
import { WORKFLOW_SHORT, requestWhat } from './request-words';

type Decision = 'approve' | 'reject' | 'cancel';
const DECISIONS: Record<Decision, { label: string; danger: boolean; explain: string; done: string }> = {
  approve: {
    label: 'Approve',
    danger: false,
    explain: 'The replacement goes ahead: the device stays on hold until the new one is issued.',
    done: 'approved',
  },
  reject: {
    label: 'Reject',
    danger: true,
    explain: 'The original device comes back into service and the holds this request placed end.',
    done: 'rejected',
  },
  cancel: {
    label: 'Cancel request',
    danger: true,
    explain:
      'The original device comes back into service, the holds this request placed end, and a bound replacement device returns to the inventory.',
    done: 'cancelled',
  },
};

const OPEN = ['submitted', 'approved', 'bound'];

/** Who acts next, in words. */
const WAITING: Record<NonNullable<RequestDetail['waitingFor']>, string> = {
  approval: 'a validation officer’s approval',
  binding: 'a device bound to the person (or the person’s own enrollment of a card bound to them)',
  issuance: 'an issuance officer to issue the replacement',
  self_enrollment: 'the person to set up the bound card in the user portal',
  phone_enrolment: 'the person’s enrolment on their phone',
  temporary_end: 'the temporary device to end (terminated when the card is found, or at its due time)',
  activation:
    'the printed replacement card (pending) to be activated on the person’s User page — or recycled, to issue another',
};

export function RequestPage() {
  const { id = '' } = useParams();
  const { me, can } = useSession();
  const req = useLoad(() => api.requests.get(id), [id]);
  const [pending, setPending] = useState<Decision | null>(null);
  const [note, setNote] = useState('');
  const [binding, setBinding] = useState(false);
  const [issuing, setIssuing] = useState<User | null>(null);
  const [running, setRunning] = useState<IssuanceJob | null>(null);
  const [status, setStatus] = useState('');
  const decide = useAction();
  const person = useAction();
  useTitle(req.data ? `Request #${req.data.number}` : 'Request');

  if (req.error && !req.data)
    return (
      <>
        <BackToRequests />
        <ErrorPanel
          error={req.error}
          title="Could not load this request"
          actions={<RetryButton onClick={req.reload} />}
        />
      </>
    );
  if (!req.data) return <Loading what="Loading request" />;
  const r = req.data;
  const open = OPEN.includes(r.state);
  // Four-eyes (the server checks it again): not the person, not who submitted it.
  const ownDecision = me?.id === r.userId || me?.username === r.names.submittedBy;
  const mayDecide = can('request.approve') && r.state === 'submitted';
  const mayBind = can('device.bind') && r.waitingFor === 'binding';
  const mayIssue = can('device.issue') && r.waitingFor === 'issuance';
  const mayLinkPhone = can('request.submit') && r.waitingFor === 'phone_enrolment';

  const confirm = async () => {
    if (!pending) return;
    const out = await decide.run(() =>
      api.requests.decide(r.id, pending, r.version, note.trim() || undefined),
    );
    if (!out) return;
    req.setData(out);
    setStatus(`Request #${out.number} is ${DECISIONS[pending].done}.`);
    setPending(null);
    setNote('');
  };
  const startIssue = async () => {
    const u = await person.run(() => api.users.get(r.userId));
    if (u) setIssuing(u);
  };

  return (
    <>
      <BackToRequests />
      <PageHeader
        title={`Request #${r.number}`}
        intro={
          <>
            {requestWhat(r)} · <Badge value={r.state} />
          </>
        }
        actions={
          <>
            {mayDecide && !ownDecision && (
              <>
                <button type="button" className="btn btn-primary" onClick={() => setPending('approve')}>
                  Approve
                </button>
                <button type="button" className="btn btn-danger-outline" onClick={() => setPending('reject')}>
                  Reject
                </button>
              </>
            )}
            {mayBind && (
              <button type="button" className="btn" onClick={() => setBinding(true)}>
                Bind device
              </button>
            )}
            {mayIssue && (
              <button type="button" className="btn btn-primary" onClick={() => void startIssue()}>
                Issue replacement
              </button>
            )}
            {open && can('request.submit') && (
              <button type="button" className="btn btn-danger-outline" onClick={() => setPending('cancel')}>
                Cancel request
              </button>
            )}
          </>
        }
      />
      <StatusMessage>{status}</StatusMessage>
      {mayDecide && ownDecision && (
        <p className="notice">
          {me?.id === r.userId ? 'This request is about you' : 'You submitted this request'}: another
          validation officer approves or rejects it (four-eyes).
        </p>
      )}
      <ErrorPanel error={person.error} title="Could not open the issuance" />

      <section className="card" aria-labelledby="request-h">
        <h2 id="request-h">Request</h2>
        <RequestDetails r={r} />
      </section>
      {mayLinkPhone && (
        <section className="card" aria-labelledby="phone-h">
          <h2 id="phone-h">Enrolment on the phone</h2>
          <PhoneEnrolment
            requestId={r.id}
            personName={r.person?.displayName ?? 'The person'}
            onWaiting={req.reload}
          />
        </section>
      )}
      <section className="card" aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        <History steps={r.history} />
      </section>

      <ConfirmDialog
        open={pending !== null}
        title={pending ? `${DECISIONS[pending].label}: request #${r.number}?` : ''}
        confirmLabel={pending ? DECISIONS[pending].label : ''}
        cancelLabel="Back"
        danger={pending ? DECISIONS[pending].danger : false}
        busy={decide.busy}
        error={decide.error}
        onConfirm={() => void confirm()}
        onCancel={() => {
          setPending(null);
          setNote('');
          decide.clear();
          // A 409 means the request moved on: show it as it is now.
          if (decide.error?.status === 409) req.reload();
        }}
      >
        {pending && <p>{DECISIONS[pending].explain}</p>}
        <div className="field">
          <label htmlFor="decision-note">Note (kept in the request’s history)</label>
          <input id="decision-note" maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
        </div>
      </ConfirmDialog>

      {binding && (
        <BindDialog
          request={r}
          onClose={() => setBinding(false)}
          onBound={(out) => {
            setBinding(false);
            req.setData(out);
            setStatus(
              `Device ${out.replacementSerial ?? ''} is bound to ${out.person?.displayName ?? 'the person'}.`,
            );
          }}
        />
      )}
      {issuing && (
        <AddDeviceDialog
          user={issuing}
          requestId={r.id}
          policyId={r.policyId}
          preferSerial={r.replacementSerial}
          onClose={() => setIssuing(null)}
          onStarted={(_device, job) => {
            setIssuing(null);
            if (job) setRunning(job);
            req.reload();
          }}
        />
      )}
      {running && (
        <IssuanceDialog
          jobId={running.id}
          initial={running}
          onSettled={req.reload}
          onClose={() => {
            setRunning(null);
            req.reload();
          }}
        />
      )}
    </>
  );
}

function BackToRequests() {
  return (
    <p className="back-link">
      <Link to="/operator/requests">← Requests</Link>
    </p>
  );
}

function DeviceLink({ serial, userId }: { serial: string | null; userId: string }) {
  if (!serial) return <span className="muted">none yet</span>;
  return (
    <>
      <span className="mono">{serial}</span> (<Link to={`/operator/users/${userId}`}>on the User page</Link>)
    </>
  );
}

function RequestDetails({ r }: { r: RequestDetail }) {
  const by = (key: string) => r.names[key];
  return (
    <dl className="details">
      <dt>Person</dt>
      <dd>
        {r.person ? (
          <Link to={`/operator/users/${r.person.id}`}>
            {r.person.displayName} ({r.person.username})
          </Link>
        ) : (
          <span className="muted">unknown</span>
        )}
      </dd>
      <dt>Reason</dt>
      <dd>
        {r.reason ? humanize(r.reason) : '—'}
        {r.type ? ` — ${r.type === 'temporary' ? 'a temporary device' : 'a permanent replacement'}` : ''}
      </dd>
      <dt>Workflow</dt>
      <dd>{WORKFLOW_SHORT[r.workflow]}</dd>
      <dt>Waiting for</dt>
      <dd>
        {r.waitingFor ? WAITING[r.waitingFor] : <span className="muted">nothing: it is {r.state}</span>}
      </dd>
      <dt>Device replaced</dt>
      <dd>
        <DeviceLink serial={r.targetSerial} userId={r.userId} />
      </dd>
      <dt>Replacement device</dt>
      <dd>
        <DeviceLink serial={r.replacementSerial} userId={r.userId} />
      </dd>
      {r.dueAt && (
        <>
          <dt>Temporary device ends</dt>
          <dd>{formatDateTime(r.dueAt)}</dd>
        </>
      )}
      <dt>Submitted</dt>
      <dd>
        {formatDateTime(r.createdAt)}
        {by('submittedBy') ? ` by ${by('submittedBy')}` : ''}
      </dd>
      {r.note && (
        <>
          <dt>Note</dt>
          <dd>{r.note}</dd>
        </>
      )}
      {r.decisionNote && (
        <>
          <dt>Decision note</dt>
          <dd>{r.decisionNote}</dd>
        </>
      )}
      <dt>Certificates put on hold</dt>
      <dd>{r.heldCredentialIds.length}</dd>
    </dl>
  );
}

/** "request.approved" → "Approved"; details worth reading (a note, a device, a reason) beside it. */
function History({ steps }: { steps: RequestStep[] }) {
  if (steps.length === 0) return <p className="muted">No steps recorded.</p>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">History of this request</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Step</th>
            <th scope="col">By</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((s, i) => (
            <tr key={`${s.at}-${i}`}>
              <td>{formatDateTime(s.at)}</td>
              <td>{humanize(s.action.replace(/^request\./, ''))}</td>
              <td>{s.actorName}</td>
              <td className="cell-wrap small">{stepDetails(s.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const SHOWN = [
  'note',
  'reason',
  'workflow',
  'serial',
  'replacementSerial',
  'from',
  'to',
  'suspended',
  'reinstated',
];
function stepDetails(d: Record<string, unknown>): string {
  return SHOWN.filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== '')
    .map((k) => {
      const v = d[k];
      const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
      // Codes (lost, local_issuance) read as words; serials and notes as they are.
      const shown = k === 'reason' || k === 'workflow' ? humanize(text).toLowerCase() : text;
      return `${humanize(k).toLowerCase()}: ${shown}`;
    })
    .join(' · ');
}

/** Bind device: a blank device of the inventory becomes the person's replacement (self-enrollment). */
function BindDialog({
  request: r,
  onClose,
  onBound,
}: {
  request: RequestDetail;
  onClose: () => void;
  onBound: (r: RequestDetail) => void;
}) {
  const blank = useLoad(() => api.devices.list({ state: 'inventory', limit: 100 }), []);
  const [deviceId, setDeviceId] = useState('');
  const bind = useAction();
  const submit = async () => {
    const out = await bind.run(() => api.requests.bind(r.id, deviceId, r.version));
    if (out) onBound(out);
  };
  return (
    <Dialog
      open
      title={`Bind a device for request #${r.number}`}
      onClose={onClose}
      footer={
        <DialogActions
          onCancel={onClose}
          label="Bind device"
          busy={bind.busy}
          disabled={!deviceId}
          onAction={() => void submit()}
        />
      }
    >
      <div className="field">
        <label htmlFor="bind-device">Blank device</label>
        <select id="bind-device" value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
          <option value="">Choose a device</option>
          {(blank.data?.items ?? []).map((d) => (
            <option key={d.id} value={d.id}>
              {d.serial} — {d.model}
            </option>
          ))}
        </select>
        <p className="muted small">
          It is bound to {r.person?.displayName ?? 'the person'}, who sets it up in the user portal.
        </p>
      </div>
      <ErrorPanel error={blank.error} title="Could not list the blank devices" />
      <ErrorPanel error={bind.error} title="The device was not bound" />
    </Dialog>
  );
}
