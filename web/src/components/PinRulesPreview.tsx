// The PIN rules of a policy as people will see them at issuance, and a box to try a sample PIN
// against them. Uses the server's own pure checker (src/domain/pin-policy.ts), so the preview and
// issuance can never disagree.
import { useId, useState } from 'react';
import { checkPin, describePinPolicy, validatePinPolicy } from '../../../src/domain/pin-policy.ts';
import type { DeviceType, PinPolicy } from '../types';

export function PinRulesPreview({ policy, deviceTypes }: { policy: PinPolicy; deviceTypes: DeviceType[] }) {
  const [sample, setSample] = useState('');
  const id = useId();
  const valid = validatePinPolicy(policy, deviceTypes.length ? deviceTypes : undefined).ok;
  if (!valid)
    return (
      <p className="muted small" id={`${id}-rules`}>
        The preview appears once the PIN settings above are complete and consistent.
      </p>
    );
  const problems = sample ? checkPin(sample, policy) : [];
  return (
    <div className="pin-preview">
      <div>
        <h3 id={`${id}-h`}>What users will be told</h3>
        <ul aria-labelledby={`${id}-h`}>
          {describePinPolicy(policy).map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </div>
      <div className="field">
        <label htmlFor={`${id}-try`}>Try a sample PIN (not saved)</label>
        <input
          id={`${id}-try`}
          value={sample}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setSample(e.target.value)}
          aria-describedby={`${id}-verdict`}
        />
        <div id={`${id}-verdict`} aria-live="polite" className="pin-preview__verdict">
          {sample &&
            (problems.length === 0 ? (
              <span className="verify__ok">This PIN would be accepted.</span>
            ) : (
              <ul className="pin-preview__problems">
                {problems.map((p) => (
                  <li key={p.rule}>{p.message}</li>
                ))}
              </ul>
            ))}
        </div>
      </div>
    </div>
  );
}
