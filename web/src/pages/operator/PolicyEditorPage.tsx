// One device policy, created or edited. The form checks nothing the server also checks: it sends
// what was entered and shows the server's list of problems beside the form, so there is exactly
// one set of rules (services/policy-service on the server).
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { NumberField, NumberInput } from '../../components/NumberInput';
import { PinRulesPreview } from '../../components/PinRulesPreview';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { deviceTypeLabel, formatDateTime, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import {
  CARD_KEY_ALGORITHMS as KEY_ALGORITHMS,
  CERTIFICATE_PROFILE_NAMES as CERTIFICATE_PROFILES,
  DEVICE_TYPES,
  PIV_SLOTS as SLOTS,
  PROFILE_SLOT as SLOT_FOR,
  type CertificateProfileName,
  type CredentialProfile,
  type PivSlot as Slot,
  type Policy,
  type PolicyInput,
} from '../../types';
import { RetryButton } from '../../components/ListTable';

const SLOT_NAMES: Record<Slot, string> = { '9a': '9A', '9c': '9C', '9d': '9D', '9e': '9E' };

const NEW_POLICY: PolicyInput = {
  name: '',
  description: '',
  deviceTypes: ['piv_card'],
  credentialProfiles: [
    {
      name: 'Authentication',
      slot: '9a',
      keyAlgorithm: 'ECCP256',
      certificateProfile: 'piv_authentication',
      validityDays: 1095,
      archiveKey: false,
    },
  ],
  pinPolicy: {
    minLength: 6,
    maxLength: 8,
    charset: 'digits',
    noRepeatedDigits: true,
    noSequences: true,
    retries: 3,
  },
  pukRetries: 3,
  deviceValidityDays: 1825,
  defaultLayout: null,
};

function toInput(p: Policy): PolicyInput {
  return {
    name: p.name,
    description: p.description,
    deviceTypes: p.deviceTypes,
    credentialProfiles: p.credentialProfiles,
    pinPolicy: p.pinPolicy,
    pukRetries: p.pukRetries,
    deviceValidityDays: p.deviceValidityDays,
    defaultLayout: p.defaultLayout,
  };
}

export function PolicyEditorPage() {
  const { id = 'new' } = useParams();
  const isNew = id === 'new';
  const loaded = useLoad(() => (isNew ? Promise.resolve(null) : api.policies.get(id)), [id]);
  useTitle(isNew ? 'New device policy' : (loaded.data?.name ?? 'Device policy'));

  if (loaded.error)
    return (
      <>
        <BackToPolicies />
        <ErrorPanel
          error={loaded.error}
          title="Could not load this policy"
          actions={<RetryButton onClick={loaded.reload} />}
        />
      </>
    );
  if (loaded.loading || loaded.data === undefined) return <Loading what="Loading policy" />;
  return <PolicyForm key={id} policy={loaded.data} />;
}

function BackToPolicies() {
  return (
    <p className="back-link">
      <Link to="/operator/policies">← Device policies</Link>
    </p>
  );
}

function PolicyForm({ policy }: { policy: Policy | null }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [saved, setSaved] = useState<Policy | null>(policy);
  const [draft, setDraft] = useState<PolicyInput>(policy ? toInput(policy) : NEW_POLICY);
  const [status, setStatus] = useState(
    (location.state as { created?: boolean } | null)?.created ? 'Policy created.' : '',
  );
  const action = useAction();
  const readOnly = !can('policy.write');
  const base = useId();

  useEffect(() => {
    if (action.error) document.getElementById('policy-errors')?.scrollIntoView({ block: 'nearest' });
  }, [action.error]);

  const set = <K extends keyof PolicyInput>(key: K, value: PolicyInput[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const setPin = <K extends keyof PolicyInput['pinPolicy']>(key: K, value: PolicyInput['pinPolicy'][K]) =>
    setDraft((d) => ({ ...d, pinPolicy: { ...d.pinPolicy, [key]: value } }));
  const setProfile = (i: number, patch: Partial<CredentialProfile>) =>
    setDraft((d) => ({
      ...d,
      credentialProfiles: d.credentialProfiles.map((c, n) => (n === i ? { ...c, ...patch } : c)),
    }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const body = { ...draft, defaultLayout: draft.defaultLayout?.trim() ? draft.defaultLayout.trim() : null };
    const result = await action.run(() =>
      saved ? api.policies.update(saved.id, body) : api.policies.create(body),
    );
    if (!result) return;
    if (!saved) {
      navigate(`/operator/policies/${result.id}`, { replace: true, state: { created: true } });
      return;
    }
    setSaved(result);
    setDraft(toInput(result));
    setStatus(`Saved. The policy is now at version ${result.version}.`);
  };

  return (
    <>
      <BackToPolicies />
      <PageHeader
        title={saved ? saved.name : 'New device policy'}
        intro={
          saved
            ? `Version ${saved.version}, last changed ${formatDateTime(saved.updatedAt)}.`
            : 'Describe what devices issued under this policy receive.'
        }
      />
      <form
        className="form policy-form"
        onSubmit={(e) => void submit(e)}
        noValidate
        aria-describedby="policy-errors"
      >
        <fieldset disabled={readOnly} className="plain">
          <section className="card" aria-labelledby={`${base}-general`}>
            <h2 id={`${base}-general`}>General</h2>
            <div className="form-grid">
              <div className="field">
                <label htmlFor="pol-name">Name</label>
                <input id="pol-name" value={draft.name} onChange={(e) => set('name', e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="pol-layout">Default card layout (optional)</label>
                <input
                  id="pol-layout"
                  value={draft.defaultLayout ?? ''}
                  onChange={(e) => set('defaultLayout', e.target.value)}
                />
              </div>
            </div>
            <div className="field">
              <label htmlFor="pol-description">Description</label>
              <textarea
                id="pol-description"
                rows={2}
                value={draft.description}
                onChange={(e) => set('description', e.target.value)}
              />
            </div>
            <fieldset className="checks checks--inline">
              <legend>Device types</legend>
              {DEVICE_TYPES.map((t) => (
                <div className="check" key={t}>
                  <input
                    type="checkbox"
                    id={`pol-type-${t}`}
                    checked={draft.deviceTypes.includes(t)}
                    onChange={(e) =>
                      set(
                        'deviceTypes',
                        e.target.checked
                          ? [...draft.deviceTypes, t]
                          : draft.deviceTypes.filter((x) => x !== t),
                      )
                    }
                  />
                  <label htmlFor={`pol-type-${t}`}>{deviceTypeLabel(t)}</label>
                </div>
              ))}
            </fieldset>
          </section>

          <section className="card" aria-labelledby={`${base}-creds`}>
            <h2 id={`${base}-creds`}>Credential profiles</h2>
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
                  {draft.credentialProfiles.map((c, i) => {
                    const n = i + 1;
                    return (
                      <tr key={i}>
                        <td>
                          <input
                            aria-label={`Credential ${n} name`}
                            value={c.name}
                            onChange={(e) => setProfile(i, { name: e.target.value })}
                          />
                        </td>
                        <td>
                          <select
                            aria-label={`Credential ${n} certificate profile`}
                            value={c.certificateProfile}
                            onChange={(e) => {
                              const cp = e.target.value as CertificateProfileName;
                              // Picking a certificate profile moves the credential to its PIV slot.
                              setProfile(i, { certificateProfile: cp, slot: SLOT_FOR[cp] });
                            }}
                          >
                            {CERTIFICATE_PROFILES.map((p) => (
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
                            onChange={(e) => setProfile(i, { slot: e.target.value as Slot })}
                          >
                            {SLOTS.map((s) => (
                              <option key={s} value={s}>
                                {SLOT_NAMES[s]}
                              </option>
                            ))}
                          </select>
                        </td>
                        <td>
                          <select
                            aria-label={`Credential ${n} key algorithm`}
                            value={c.keyAlgorithm}
                            onChange={(e) =>
                              setProfile(i, {
                                keyAlgorithm: e.target.value as CredentialProfile['keyAlgorithm'],
                              })
                            }
                          >
                            {KEY_ALGORITHMS.map((k) => (
                              <option key={k} value={k}>
                                {k === 'RSA2048' ? 'RSA 2048' : k === 'ECCP256' ? 'ECC P-256' : 'ECC P-384'}
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
                            onValue={(v) => setProfile(i, { validityDays: v })}
                          />
                        </td>
                        <td className="cell-center">
                          <input
                            type="checkbox"
                            aria-label={`Credential ${n}: archive the key (key management only)`}
                            checked={c.archiveKey}
                            onChange={(e) => setProfile(i, { archiveKey: e.target.checked })}
                          />
                        </td>
                        <td className="edit-only">
                          <button
                            type="button"
                            className="btn btn-ghost btn-small"
                            aria-label={`Remove credential ${n}${c.name ? ` (${c.name})` : ''}`}
                            onClick={() =>
                              set(
                                'credentialProfiles',
                                draft.credentialProfiles.filter((_, k) => k !== i),
                              )
                            }
                          >
                            Remove
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                  {draft.credentialProfiles.length === 0 && (
                    <tr>
                      <td colSpan={7} className="table__empty">
                        No credential profiles.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
            <button
              type="button"
              className="btn btn-small edit-only"
              onClick={() => {
                const used = new Set(draft.credentialProfiles.map((c) => c.certificateProfile));
                const next = CERTIFICATE_PROFILES.find((p) => !used.has(p)) ?? 'piv_authentication';
                set('credentialProfiles', [
                  ...draft.credentialProfiles,
                  {
                    name: humanize(next),
                    slot: SLOT_FOR[next],
                    keyAlgorithm: 'ECCP256',
                    certificateProfile: next,
                    validityDays: Math.min(1095, draft.deviceValidityDays || 1095),
                    archiveKey: false,
                  },
                ]);
              }}
            >
              Add credential profile
            </button>
          </section>

          <section className="card" aria-labelledby={`${base}-pin`}>
            <h2 id={`${base}-pin`}>PIN and PUK</h2>
            <div className="form-grid form-grid--3">
              <NumberField
                id="pin-min"
                label="PIN minimum length"
                min={4}
                max={16}
                value={draft.pinPolicy.minLength}
                onValue={(v) => setPin('minLength', v)}
              />
              <NumberField
                id="pin-max"
                label="PIN maximum length"
                min={4}
                max={16}
                value={draft.pinPolicy.maxLength}
                onValue={(v) => setPin('maxLength', v)}
              />
              <NumberField
                id="pin-retries"
                label="PIN retries before blocking"
                min={1}
                max={15}
                value={draft.pinPolicy.retries}
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
                  checked={draft.pinPolicy.charset === 'digits'}
                  onChange={() => setPin('charset', 'digits')}
                />
                <label htmlFor="pin-charset-digits">Digits only</label>
              </div>
              <div className="check">
                <input
                  type="radio"
                  id="pin-charset-alnum"
                  name="pin-charset"
                  checked={draft.pinPolicy.charset === 'alphanumeric'}
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
                  checked={draft.pinPolicy.noRepeatedDigits}
                  onChange={(e) => setPin('noRepeatedDigits', e.target.checked)}
                />
                <label htmlFor="pin-no-repeat">No repeated digits (refuse 1111, 2299)</label>
              </div>
              <div className="check">
                <input
                  type="checkbox"
                  id="pin-no-seq"
                  checked={draft.pinPolicy.noSequences}
                  onChange={(e) => setPin('noSequences', e.target.checked)}
                />
                <label htmlFor="pin-no-seq">No sequences (refuse 1234, 9876)</label>
              </div>
            </fieldset>
            <PinRulesPreview policy={draft.pinPolicy} deviceTypes={draft.deviceTypes} />
            <div className="form-grid form-grid--3">
              <NumberField
                id="puk-retries"
                label="PUK retries"
                min={1}
                max={15}
                value={draft.pukRetries}
                onValue={(v) => set('pukRetries', v)}
              />
              <NumberField
                id="device-validity"
                label="Device validity (days)"
                min={1}
                max={3650}
                value={draft.deviceValidityDays}
                onValue={(v) => set('deviceValidityDays', v)}
              />
            </div>
          </section>
        </fieldset>

        <div id="policy-errors">
          <ErrorPanel error={action.error} title="The policy was not saved" onDismiss={action.clear} />
        </div>
        <StatusMessage>{status}</StatusMessage>
        {!readOnly && (
          <div className="form-actions">
            <Link className="btn" to="/operator/policies">
              Back to the list
            </Link>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              {action.busy ? 'Saving…' : saved ? 'Save policy' : 'Create policy'}
            </button>
          </div>
        )}
      </form>
    </>
  );
}
