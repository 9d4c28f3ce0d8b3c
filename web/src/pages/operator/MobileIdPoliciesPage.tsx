// Mobile ID policies (reference 004, "Options"): what a person's phone gets when they order a mobile
// ID in the user portal — which certificates of a device policy for mobile devices, where the QR code
// goes, how long it lives, properties put into the enrolment, the encryption key recovered, and
// whom to notify, and whether the mobile ID is derived from the person's PIV card (NIST SP 800-157:
// the card signs a challenge before ordering; the mobile ID follows the card). Administrators edit (policy.write); others with policy.read see them.
import { useState } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import {
  MOBILE_ID_NOTIFY,
  QR_DELIVERIES,
  type MobileIdPolicy,
  type MobileIdPolicyInput,
  type Policy,
} from '../../types';

const NOTIFY_LABEL: Record<(typeof MOBILE_ID_NOTIFY)[number], string> = {
  none: 'Do not notify',
  success: 'On success',
  failure: 'On failure',
  both: 'On success and on failure',
};

const blank = (device?: Policy): MobileIdPolicyInput => ({
  name: '',
  description: '',
  devicePolicyId: device?.id ?? '',
  profiles: device?.credentialProfiles.map((c) => c.name) ?? [],
  qrDelivery: 'portal',
  validityDays: 365,
  properties: [],
  recoverKey: false,
  notify: 'both',
  requireCard: false,
  cardEnd: 'suspend',
  enabled: true,
});

const inputOf = (p: MobileIdPolicy): MobileIdPolicyInput => ({
  name: p.name,
  description: p.description,
  devicePolicyId: p.devicePolicyId,
  profiles: p.profiles,
  qrDelivery: p.qrDelivery,
  validityDays: p.validityDays,
  properties: p.properties,
  recoverKey: p.recoverKey,
  notify: p.notify,
  requireCard: p.requireCard,
  cardEnd: p.cardEnd,
  enabled: p.enabled,
});

export function MobileIdPoliciesPage() {
  useTitle('Mobile ID policies');
  const { can } = useSession();
  const list = useLoad(() => api.mobileIdPolicies.list(), []);
  const devices = useLoad(() => api.policies.list(), []);
  const [editing, setEditing] = useState<{ id: string | null; input: MobileIdPolicyInput } | null>(null);
  const save = useAction();
  const [said, setSaid] = useState('');
  const mobilePolicies = (devices.data?.items ?? []).filter((p) => p.deviceTypes.includes('mobile'));
  const device = mobilePolicies.find((p) => p.id === editing?.input.devicePolicyId);
  const set = (patch: Partial<MobileIdPolicyInput>) =>
    setEditing((e) => (e ? { ...e, input: { ...e.input, ...patch } } : e));

  const onSave = async () => {
    if (!editing) return;
    const done = await save.run(() =>
      editing.id
        ? api.mobileIdPolicies.update(editing.id, editing.input)
        : api.mobileIdPolicies.create(editing.input),
    );
    if (done) {
      setSaid(`The mobile ID policy “${editing.input.name}” is saved.`);
      setEditing(null);
      list.reload();
    }
  };

  return (
    <>
      <PageHeader
        title="Mobile ID policies"
        intro="What a person’s phone gets when they choose Get Mobile ID in the user portal."
        actions={
          can('policy.write') &&
          !editing && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => setEditing({ id: null, input: blank(mobilePolicies[0]) })}
            >
              New mobile ID policy
            </button>
          )
        }
      />
      <ErrorPanel
        error={list.error}
        title="Could not load the mobile ID policies"
        actions={<RetryButton onClick={list.reload} />}
      />
      <StatusMessage>{said}</StatusMessage>
      {list.loading && !list.data && <Loading what="Loading mobile ID policies" />}
      {list.data &&
        (list.data.items.length === 0 ? (
          <p>No mobile ID policy yet: people are not offered a mobile ID in the user portal.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Mobile ID policies</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Certificates</th>
                  <th scope="col">QR code</th>
                  <th scope="col">Valid for</th>
                  <th scope="col">Encryption key</th>
                  <th scope="col">Notify</th>
                  <th scope="col">PIV card</th>
                  <th scope="col">Offered</th>
                  {can('policy.write') && <th scope="col">Action</th>}
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((p) => (
                  <tr key={p.id}>
                    <td>
                      {p.name}
                      {p.description && <div className="muted small">{p.description}</div>}
                    </td>
                    <td>{p.profiles.join(', ')}</td>
                    <td>{p.qrDelivery === 'portal' ? 'Shown in the portal' : 'E-mailed'}</td>
                    <td>{p.validityDays} days</td>
                    <td>{p.recoverKey ? 'Recovered onto the phone' : 'Not recovered'}</td>
                    <td>{NOTIFY_LABEL[p.notify]}</td>
                    <td>
                      {p.requireCard
                        ? `Required; its end ${p.cardEnd === 'revoke' ? 'revokes' : 'suspends'} the mobile ID`
                        : 'Not required'}
                    </td>
                    <td>{p.enabled ? 'Yes' : 'No (disabled)'}</td>
                    {can('policy.write') && (
                      <td>
                        <button
                          type="button"
                          className="btn btn-small"
                          aria-label={`Edit ${p.name}`}
                          onClick={() => setEditing({ id: p.id, input: inputOf(p) })}
                        >
                          Edit
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {editing && (
        <section className="card" aria-labelledby="mid-edit-h">
          <h2 id="mid-edit-h">{editing.id ? `Edit ${editing.input.name}` : 'New mobile ID policy'}</h2>
          <ErrorPanel error={save.error} title="The mobile ID policy was not saved" onDismiss={save.clear} />
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void onSave();
            }}
          >
            <div className="field">
              <label htmlFor="mid-name">Name</label>
              <input
                id="mid-name"
                value={editing.input.name}
                maxLength={100}
                onChange={(e) => set({ name: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="mid-desc">Description</label>
              <input
                id="mid-desc"
                value={editing.input.description}
                maxLength={500}
                onChange={(e) => set({ description: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="mid-device">Device policy (for mobile devices)</label>
              <select
                id="mid-device"
                value={editing.input.devicePolicyId}
                onChange={(e) => {
                  const d = mobilePolicies.find((p) => p.id === e.target.value);
                  set({
                    devicePolicyId: e.target.value,
                    profiles: d?.credentialProfiles.map((c) => c.name) ?? [],
                  });
                }}
              >
                {mobilePolicies.length === 0 && (
                  <option value="">No device policy is for mobile devices</option>
                )}
                {mobilePolicies.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </div>
            <fieldset>
              <legend>Certificates issued onto the phone</legend>
              {device?.credentialProfiles.map((c) => (
                <div className="check" key={c.name}>
                  <input
                    id={`mid-profile-${c.slot}`}
                    type="checkbox"
                    checked={editing.input.profiles.includes(c.name)}
                    onChange={(e) =>
                      set({
                        profiles: e.target.checked
                          ? [...editing.input.profiles, c.name]
                          : editing.input.profiles.filter((n) => n !== c.name),
                      })
                    }
                  />
                  <label htmlFor={`mid-profile-${c.slot}`}>
                    {c.name} ({humanize(c.certificateProfile)}, slot {c.slot.toUpperCase()})
                  </label>
                </div>
              ))}
            </fieldset>
            <fieldset>
              <legend>Where the QR code goes</legend>
              {QR_DELIVERIES.map((d) => (
                <div className="check" key={d}>
                  <input
                    id={`mid-qr-${d}`}
                    type="radio"
                    name="mid-qr"
                    checked={editing.input.qrDelivery === d}
                    onChange={() => set({ qrDelivery: d })}
                  />
                  <label htmlFor={`mid-qr-${d}`}>
                    {d === 'portal'
                      ? 'Shown in the user portal'
                      : 'E-mailed to the person (QR image and link)'}
                  </label>
                </div>
              ))}
            </fieldset>
            <div className="field">
              <label htmlFor="mid-days">Valid for (days)</label>
              <input
                id="mid-days"
                type="number"
                min={1}
                max={3650}
                value={editing.input.validityDays}
                onChange={(e) => set({ validityDays: Number(e.target.value) })}
              />
              <span className="muted small">
                Its certificates never outlive it; at the end it expires on its own.
              </span>
            </div>
            <fieldset>
              <legend>Properties put into the enrolment</legend>
              {editing.input.properties.map((p, i) => (
                <div className="kv-editor__row" key={i}>
                  <div className="field">
                    <label htmlFor={`mid-prop-n${i}`}>Property {i + 1} name</label>
                    <input
                      id={`mid-prop-n${i}`}
                      value={p.name}
                      onChange={(e) =>
                        set({
                          properties: editing.input.properties.map((q, n) =>
                            n === i ? { ...q, name: e.target.value } : q,
                          ),
                        })
                      }
                    />
                  </div>
                  <div className="field">
                    <label htmlFor={`mid-prop-v${i}`}>Property {i + 1} value</label>
                    <input
                      id={`mid-prop-v${i}`}
                      value={p.value}
                      placeholder="${username}"
                      onChange={(e) =>
                        set({
                          properties: editing.input.properties.map((q, n) =>
                            n === i ? { ...q, value: e.target.value } : q,
                          ),
                        })
                      }
                    />
                  </div>
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => set({ properties: editing.input.properties.filter((_, n) => n !== i) })}
                  >
                    Remove property {i + 1}
                  </button>
                </div>
              ))}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => set({ properties: [...editing.input.properties, { name: '', value: '' }] })}
              >
                Add property
              </button>
              <p className="muted small">
                Values may use {'${username}'}, {'${displayName}'}, {'${email}'}, {'${userId}'}, {'${server}'}{' '}
                and {'${properties.<name>}'}; certificate templates read them as {'${properties.<name>}'}.
              </p>
            </fieldset>
            <div className="check">
              <input
                id="mid-recover"
                type="checkbox"
                checked={editing.input.recoverKey}
                onChange={(e) => set({ recoverKey: e.target.checked })}
              />
              <label htmlFor="mid-recover">Recover the person’s archived encryption key onto the phone</label>
            </div>
            <div className="field">
              <label htmlFor="mid-notify">Notify the person by e-mail</label>
              <select
                id="mid-notify"
                value={editing.input.notify}
                onChange={(e) => set({ notify: e.target.value as MobileIdPolicyInput['notify'] })}
              >
                {MOBILE_ID_NOTIFY.map((n) => (
                  <option key={n} value={n}>
                    {NOTIFY_LABEL[n]}
                  </option>
                ))}
              </select>
            </div>
            <fieldset>
              <legend>Derived credential (NIST SP 800-157)</legend>
              <div className="check">
                <input
                  id="mid-require-card"
                  type="checkbox"
                  checked={editing.input.requireCard ?? false}
                  onChange={(e) => set({ requireCard: e.target.checked })}
                />
                <label htmlFor="mid-require-card">
                  Require the PIV card: the person inserts their active card and types its PIN; the card signs
                  a challenge before the mobile ID is ordered, and the mobile ID follows that card
                </label>
              </div>
              {editing.input.requireCard && (
                <div className="field">
                  <label htmlFor="mid-card-end">When that card is terminated with no card in its place</label>
                  <select
                    id="mid-card-end"
                    value={editing.input.cardEnd ?? 'suspend'}
                    onChange={(e) => set({ cardEnd: e.target.value as 'suspend' | 'revoke' })}
                  >
                    <option value="suspend">Suspend the mobile ID (its certificates on hold)</option>
                    <option value="revoke">
                      Revoke the mobile ID (its certificates revoked, the phone ended)
                    </option>
                  </select>
                  <span className="muted small">
                    Suspending the card suspends the mobile ID along, and resuming it resumes it; a replaced
                    card hands the mobile ID on to the new card.
                  </span>
                </div>
              )}
            </fieldset>
            <div className="check">
              <input
                id="mid-enabled"
                type="checkbox"
                checked={editing.input.enabled}
                onChange={(e) => set({ enabled: e.target.checked })}
              />
              <label htmlFor="mid-enabled">Offered in the user portal</label>
            </div>
            <div className="actions">
              <button type="submit" className="btn btn-primary" disabled={save.busy}>
                Save mobile ID policy
              </button>{' '}
              <button type="button" className="btn" onClick={() => setEditing(null)}>
                Cancel
              </button>
            </div>
          </form>
        </section>
      )}
    </>
  );
}
