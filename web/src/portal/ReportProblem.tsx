// "Report a problem with my device" (reference 003, user-declared incident): the person says what
// happened to one of their devices and how they want the new one. The device and its certificates
// go on hold at once, so nobody else can use them; a validation officer then approves the request.
import { useId, useState, type FormEvent } from 'react';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import type { Device, ReplacementReason, ReplacementRequest } from '../types';
import { portalApi } from './portal-api';

const REASONS: { value: ReplacementReason; label: string; hint: string }[] = [
  { value: 'lost', label: 'I lost it', hint: 'You get a new card; the old one can never be used again.' },
  {
    value: 'stolen',
    label: 'It was stolen',
    hint: 'You get a new card; the old one can never be used again.',
  },
  {
    value: 'forgotten',
    label: 'I left it at home',
    hint: 'You get a temporary card for a few days; your own card works again when you bring it back.',
  },
  { value: 'damaged', label: 'It is damaged or does not work', hint: 'You get a new card.' },
  { value: 'expired', label: 'It has expired', hint: 'You get a new card.' },
];

type How = 'self_enrollment' | 'local_issuance';

interface Props {
  device: Device;
  onReported: (request: ReplacementRequest) => void;
  onBack: () => void;
}

export function ReportProblem({ device, onReported, onBack }: Props) {
  const id = useId();
  const [reason, setReason] = useState<ReplacementReason | ''>('');
  const [how, setHow] = useState<How>('self_enrollment');
  const [note, setNote] = useState('');
  const send = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!reason) return;
    const made = await send.run(() =>
      portalApi.reportProblem(device.id, {
        reason,
        workflow: how,
        ...(note.trim() ? { note: note.trim() } : {}),
      }),
    );
    if (made) onReported(made);
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <p>
        Your card <span className="mono">{device.serial}</span>. As soon as you send this, the card is put on
        hold so nobody else can use it.
      </p>
      <fieldset className="checks">
        <legend>What happened?</legend>
        {REASONS.map((r) => (
          <div key={r.value} className="check">
            <input
              type="radio"
              id={`${id}-${r.value}`}
              name={`${id}-reason`}
              checked={reason === r.value}
              onChange={() => setReason(r.value)}
              // The browser says "choose one" when the report is sent without a reason.
              required
              aria-describedby={`${id}-${r.value}-hint`}
            />
            <label htmlFor={`${id}-${r.value}`}>{r.label}</label>
            <span className="check__hint" id={`${id}-${r.value}-hint`}>
              {r.hint}
            </span>
          </div>
        ))}
      </fieldset>
      <fieldset className="checks">
        <legend>How do you want your new card?</legend>
        <div className="check">
          <input
            type="radio"
            id={`${id}-self`}
            name={`${id}-how`}
            checked={how === 'self_enrollment'}
            onChange={() => setHow('self_enrollment')}
          />
          <label htmlFor={`${id}-self`}>I set it up myself here, once it is ready</label>
        </div>
        <div className="check">
          <input
            type="radio"
            id={`${id}-desk`}
            name={`${id}-how`}
            checked={how === 'local_issuance'}
            onChange={() => setHow('local_issuance')}
          />
          <label htmlFor={`${id}-desk`}>The help desk prepares it and hands it to me</label>
        </div>
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-note`}>Anything the help desk should know (optional)</label>
        <input id={`${id}-note`} maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
      </div>
      <ErrorPanel error={send.error} title="Your report was not sent" />
      <div className="portal-actions">
        <button type="button" className="btn btn-large" onClick={onBack}>
          Back
        </button>
        <button type="submit" className="btn btn-primary btn-large" disabled={send.busy}>
          {send.busy ? 'Sending…' : 'Report the problem'}
        </button>
      </div>
    </form>
  );
}
