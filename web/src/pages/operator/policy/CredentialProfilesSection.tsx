// The credential profiles of a policy: each one key pair generated on the device, in a PIV slot,
// and one certificate of a certificate profile. Picking a certificate profile moves the credential
// to the slot that profile belongs in (domain/credential-profile.ts).
import { useId } from 'react';
import { NumberInput } from '../../../components/NumberInput';
import { patchAt, removeAt } from '../../../components/section';
import { KEY_ALGORITHM_LABELS, humanize } from '../../../format';
import {
  CARD_KEY_ALGORITHMS,
  CERTIFICATE_PROFILE_NAMES,
  PIV_SLOTS,
  PROFILE_SLOT,
  type CardKeyAlgorithm,
  type CertificateProfileName,
  type CredentialProfile,
  type PivSlot,
} from '../../../types';

interface Props {
  value: CredentialProfile[];
  onChange: (v: CredentialProfile[]) => void;
  /** A new credential's certificate is valid no longer than the device. */
  deviceValidityDays: number;
}

export function CredentialProfilesSection({ value, onChange, deviceValidityDays }: Props) {
  const heading = useId();
  const add = () => {
    const used = new Set(value.map((c) => c.certificateProfile));
    const next = CERTIFICATE_PROFILE_NAMES.find((p) => !used.has(p)) ?? 'piv_authentication';
    onChange([
      ...value,
      {
        name: humanize(next),
        slot: PROFILE_SLOT[next],
        keyAlgorithm: 'ECCP256',
        certificateProfile: next,
        validityDays: Math.min(1095, deviceValidityDays || 1095),
        archiveKey: false,
      },
    ]);
  };

  return (
    <section className="card" aria-labelledby={heading}>
      <h2 id={heading}>Credential profiles</h2>
      <p className="muted">
        Each profile is one key pair generated on the device and one certificate from the CA.
      </p>
      <div className="table-wrap">
        <table className="table table--form">
          <caption className="visually-hidden">Credential profiles</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Certificate profile</th>
              <th scope="col">Slot</th>
              <th scope="col">Key algorithm</th>
              <th scope="col">Validity (days)</th>
              <th scope="col">Archive key</th>
              <th scope="col" className="edit-only">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {value.map((c, i) => (
              <CredentialRow
                key={i}
                n={i + 1}
                value={c}
                onChange={(patch) => onChange(patchAt(value, i, patch))}
                onRemove={() => onChange(removeAt(value, i))}
              />
            ))}
            {value.length === 0 && (
              <tr>
                <td colSpan={7} className="table__empty">
                  No credential profiles.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <button type="button" className="btn btn-small edit-only" onClick={add}>
        Add credential profile
      </button>
    </section>
  );
}

interface RowProps {
  n: number;
  value: CredentialProfile;
  onChange: (patch: Partial<CredentialProfile>) => void;
  onRemove: () => void;
}

function CredentialRow({ n, value: c, onChange, onRemove }: RowProps) {
  return (
    <tr>
      <td>
        <input
          aria-label={`Credential ${n} name`}
          value={c.name}
          onChange={(e) => onChange({ name: e.target.value })}
        />
      </td>
      <td>
        <select
          aria-label={`Credential ${n} certificate profile`}
          value={c.certificateProfile}
          onChange={(e) => {
            const cp = e.target.value as CertificateProfileName;
            onChange({ certificateProfile: cp, slot: PROFILE_SLOT[cp] });
          }}
        >
          {CERTIFICATE_PROFILE_NAMES.map((p) => (
            <option key={p} value={p}>
              {humanize(p)}
            </option>
          ))}
        </select>
      </td>
      <td>
        <select
          aria-label={`Credential ${n} slot`}
          value={c.slot}
          onChange={(e) => onChange({ slot: e.target.value as PivSlot })}
        >
          {PIV_SLOTS.map((s) => (
            <option key={s} value={s}>
              {s.toUpperCase()}
            </option>
          ))}
        </select>
      </td>
      <td>
        <select
          aria-label={`Credential ${n} key algorithm`}
          value={c.keyAlgorithm}
          onChange={(e) => onChange({ keyAlgorithm: e.target.value as CardKeyAlgorithm })}
        >
          {CARD_KEY_ALGORITHMS.map((k) => (
            <option key={k} value={k}>
              {KEY_ALGORITHM_LABELS[k]}
            </option>
          ))}
        </select>
      </td>
      <td>
        <NumberInput
          className="input-narrow"
          aria-label={`Credential ${n} validity in days`}
          min={1}
          value={c.validityDays}
          onValue={(v) => onChange({ validityDays: v })}
        />
      </td>
      <td className="cell-center">
        <input
          type="checkbox"
          aria-label={`Credential ${n}: archive the key (key management only)`}
          checked={c.archiveKey}
          onChange={(e) => onChange({ archiveKey: e.target.checked })}
        />
      </td>
      <td className="edit-only">
        <button
          type="button"
          className="btn btn-ghost btn-small"
          aria-label={`Remove credential ${n}${c.name ? ` (${c.name})` : ''}`}
          onClick={onRemove}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}
