// The new PIN at the end of personalization ("change PIN during issuance" for an operator; always
// in the user portal): the policy's rules, live feedback as the PIN is typed, typed twice.
import { useState, type FormEvent, type ReactNode } from 'react';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import type { IssuanceJob, PinPolicy } from '../types';
import { PinEntry, pinAcceptable, type PinValue } from './PinEntry';

interface Props {
  /** Loads the PIN rules of the card's policy. */
  rules: () => Promise<PinPolicy>;
  /** Sends the new PIN; resolves to the job, no longer waiting for a PIN. */
  setPin: (pin: string, confirmation: string) => Promise<IssuanceJob>;
  onDone: (job: IssuanceJob) => void;
  submitLabel?: string;
  /** What to tell the person above the fields. */
  children: ReactNode;
}

export function NewPinForm({ rules, setPin, onDone, submitLabel = 'Set the PIN', children }: Props) {
  const policy = useLoad(rules, []);
  const [value, setValue] = useState<PinValue>({ pin: '', confirmation: '' });
  const act = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const j = await act.run(() => setPin(value.pin, value.confirmation));
    if (j) onDone(j);
  };
  if (policy.error) return <ErrorPanel error={policy.error} title="Could not load the PIN rules" />;
  if (!policy.data) return <p>Loading the PIN rules…</p>;
  const acceptable = pinAcceptable(policy.data, value, true);
  const reasonId = 'new-pin-waiting';
  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <p>{children}</p>
      <PinEntry policy={policy.data} value={value} onChange={setValue} masked label="New PIN" />
      <ErrorPanel error={act.error} title="The PIN was not changed" />
      <div className="form-actions">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={act.busy || !acceptable}
          aria-describedby={acceptable ? undefined : reasonId}
        >
          {act.busy ? 'Setting the PIN…' : submitLabel}
        </button>
      </div>
      {!acceptable && (
        <p id={reasonId} className="action-reason">
          Type a PIN that meets every rule, then the same PIN again to confirm it.
        </p>
      )}
    </form>
  );
}
