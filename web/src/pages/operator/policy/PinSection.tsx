// The PIN policy (lengths, retries, characters, rules) with a live preview of what people will be
// told, the PUK retries, the device validity and the validity of a temporary replacement device.
import { NumberField } from '../../../components/NumberInput';
import { PinRulesPreview } from '../../../components/PinRulesPreview';
import { useSection } from '../../../components/section';
import {
  PIN_LENGTH_MAX,
  PIN_LENGTH_MIN,
  PIN_PATTERN_RULES,
  PIN_RETRIES_MAX,
  PIN_RETRIES_MIN,
  type DeviceType,
  type PinPolicy,
} from '../../../types';
import type { PinPart } from './policy-draft';

/** The range the API accepts for temporaryValidityDays (src/http/schemas/policies.ts). */
const TEMPORARY_VALIDITY_DAYS = { min: 1, max: 7 };

interface Props {
  value: PinPart;
  onChange: (v: PinPart) => void;
  /** The preview checks the rules against what these devices can hold. */
  deviceTypes: DeviceType[];
}

export function PinSection({ value, onChange, deviceTypes }: Props) {
  const { id, set } = useSection(value, onChange);
  const heading = id('pin');
  const setPin = <K extends keyof PinPolicy>(key: K, v: PinPolicy[K]) =>
    set('pinPolicy', { ...value.pinPolicy, [key]: v });
  const pin = value.pinPolicy;
  return (
    <section className="card" aria-labelledby={heading}>
      <h2 id={heading}>PIN and PUK</h2>
      <div className="form-grid form-grid--3">
        <NumberField
          id="pin-min"
          label="PIN minimum length"
          min={PIN_LENGTH_MIN}
          max={PIN_LENGTH_MAX}
          value={pin.minLength}
          onValue={(v) => setPin('minLength', v)}
        />
        <NumberField
          id="pin-max"
          label="PIN maximum length"
          min={PIN_LENGTH_MIN}
          max={PIN_LENGTH_MAX}
          value={pin.maxLength}
          onValue={(v) => setPin('maxLength', v)}
        />
        <NumberField
          id="pin-retries"
          label="PIN retries before blocking"
          min={PIN_RETRIES_MIN}
          max={PIN_RETRIES_MAX}
          value={pin.retries}
          onValue={(v) => setPin('retries', v)}
        />
      </div>
      <fieldset className="checks checks--inline">
        <legend>PIN characters</legend>
        <div className="check">
          <input
            type="radio"
            id="pin-charset-digits"
            name="pin-charset"
            checked={pin.charset === 'digits'}
            onChange={() => setPin('charset', 'digits')}
          />
          <label htmlFor="pin-charset-digits">Digits only</label>
        </div>
        <div className="check">
          <input
            type="radio"
            id="pin-charset-alnum"
            name="pin-charset"
            checked={pin.charset === 'alphanumeric'}
            onChange={() => setPin('charset', 'alphanumeric')}
          />
          <label htmlFor="pin-charset-alnum">Letters and digits</label>
        </div>
      </fieldset>
      <fieldset className="checks">
        <legend>PIN rules</legend>
        <div className="check">
          <input
            type="checkbox"
            id="pin-no-repeat"
            checked={pin.noRepeatedDigits}
            onChange={(e) => setPin('noRepeatedDigits', e.target.checked)}
          />
          <label htmlFor="pin-no-repeat">{PIN_PATTERN_RULES.repeated}</label>
        </div>
        <div className="check">
          <input
            type="checkbox"
            id="pin-no-seq"
            checked={pin.noSequences}
            onChange={(e) => setPin('noSequences', e.target.checked)}
          />
          <label htmlFor="pin-no-seq">{PIN_PATTERN_RULES.sequence}</label>
        </div>
      </fieldset>
      <PinRulesPreview policy={pin} deviceTypes={deviceTypes} />
      <div className="form-grid form-grid--3">
        <NumberField
          id="puk-retries"
          label="PUK retries"
          min={1}
          max={15}
          value={value.pukRetries}
          onValue={(v) => set('pukRetries', v)}
        />
        <NumberField
          id="device-validity"
          label="Device validity (days)"
          min={1}
          max={3650}
          value={value.deviceValidityDays}
          onValue={(v) => set('deviceValidityDays', v)}
        />
        <NumberField
          id="temporary-validity"
          label="Temporary device validity (days)"
          min={TEMPORARY_VALIDITY_DAYS.min}
          max={TEMPORARY_VALIDITY_DAYS.max}
          value={value.temporaryValidityDays}
          onValue={(v) => set('temporaryValidityDays', v)}
          hint={`${TEMPORARY_VALIDITY_DAYS.min} to ${TEMPORARY_VALIDITY_DAYS.max} days: how long a temporary device issued for a forgotten card, and its certificates, stay valid.`}
        />
      </div>
    </section>
  );
}
