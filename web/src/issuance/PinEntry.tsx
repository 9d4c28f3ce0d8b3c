// PIN entry for issuance: the policy's rules behind an info button, the rules a typed PIN still
// breaks announced live (aria-live), and — when the PIN is disguised — a confirmation field whose
// mismatch is shown as it is typed. Uses the server's own pure checker (src/domain/pin-policy.ts),
// so the browser and the server can never disagree about a PIN.
import { useId, useState } from 'react';
import { checkPin, describePinPolicy } from '../../../src/domain/pin-policy.ts';
import type { PinPolicy } from '../types';

export interface PinValue {
  pin: string;
  confirmation: string;
}

interface Props {
  policy: PinPolicy;
  value: PinValue;
  onChange: (v: PinValue) => void;
  /** Masked and typed twice (disguised mode, or a new PIN); typed once in clear otherwise. */
  masked: boolean;
  label?: string;
}

/** Whether the value is acceptable: no broken rule and, when masked, both entries equal. */
export function pinAcceptable(policy: PinPolicy, v: PinValue, masked: boolean): boolean {
  return v.pin !== '' && checkPin(v.pin, policy).length === 0 && (!masked || v.pin === v.confirmation);
}

export function PinEntry({ policy, value, onChange, masked, label = 'PIN' }: Props) {
  const id = useId();
  const [showRules, setShowRules] = useState(false);
  const problems = value.pin ? checkPin(value.pin, policy) : [];
  const mismatch = masked && value.confirmation !== '' && value.confirmation !== value.pin;
  return (
    <div className="pin-entry">
      <div className="field">
        <div className="pin-entry__label">
          <label htmlFor={`${id}-pin`}>{label}</label>
          <button
            type="button"
            className="btn btn-ghost btn-small btn-info"
            aria-expanded={showRules}
            aria-controls={`${id}-rules`}
            aria-label={`${label} rules`}
            onClick={() => setShowRules((s) => !s)}
          >
            i
          </button>
        </div>
        {showRules && (
          <ul id={`${id}-rules`} className="pin-entry__rules" aria-label="PIN rules">
            {describePinPolicy(policy).map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        )}
        <input
          id={`${id}-pin`}
          type={masked ? 'password' : 'text'}
          inputMode={policy.charset === 'digits' ? 'numeric' : 'text'}
          autoComplete="off"
          spellCheck={false}
          className="mono"
          value={value.pin}
          aria-describedby={`${id}-problems`}
          aria-invalid={problems.length > 0}
          onChange={(e) => onChange({ ...value, pin: e.target.value })}
        />
        <div id={`${id}-problems`} aria-live="polite" className="pin-entry__problems">
          {value.pin === '' ? null : problems.length === 0 ? (
            <p className="pin-ok">The PIN meets every rule.</p>
          ) : (
            <ul aria-label="Unmet PIN rules">
              {problems.map((p) => (
                <li key={p.rule}>{p.message}</li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {masked && (
        <div className="field">
          <label htmlFor={`${id}-confirm`}>Confirm {label}</label>
          <input
            id={`${id}-confirm`}
            type="password"
            autoComplete="off"
            className="mono"
            value={value.confirmation}
            aria-describedby={`${id}-mismatch`}
            aria-invalid={mismatch}
            onChange={(e) => onChange({ ...value, confirmation: e.target.value })}
          />
          <div id={`${id}-mismatch`} aria-live="polite" className="pin-entry__problems">
            {mismatch && <p>The two PINs are different.</p>}
          </div>
        </div>
      )}
    </div>
  );
}
