// A person's mobile IDs on the User page (reference 004): state, validity, the phone, certificates;
// suspend and resume (certificate.suspend), revoke (certificate.revoke), terminate (device.lifecycle).
import { useState } from 'react';
import { request } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { StatusMessage } from '../../components/Status';
import { formatDate, humanize } from '../../format';
import { useAction, useLoad } from '../../hooks';
import { useSession } from '../../session';
import type { MobileIdList, MobileIdView } from '../../types';

type Act = 'suspend' | 'resume' | 'revoke' | 'terminate';

const ACTIONS: {
  act: Act;
  label: string;
  from: MobileIdView['state'][];
  permission: 'certificate.suspend' | 'certificate.revoke' | 'device.lifecycle';
}[] = [
  { act: 'suspend', label: 'Suspend', from: ['active'], permission: 'certificate.suspend' },
  { act: 'resume', label: 'Resume', from: ['suspended'], permission: 'certificate.suspend' },
  { act: 'revoke', label: 'Revoke', from: ['active', 'suspended'], permission: 'certificate.revoke' },
  { act: 'terminate', label: 'Terminate', from: ['active', 'suspended'], permission: 'device.lifecycle' },
];

export function UserMobileIds({ userId }: { userId: string }) {
  const { can } = useSession();
  const list = useLoad(
    () => request<MobileIdList>('GET', `/api/users/${encodeURIComponent(userId)}/mobile-ids`),
    [userId],
  );
  const action = useAction();
  const [said, setSaid] = useState('');
  const run = async (m: MobileIdView, act: Act) => {
    const done = await action.run(() =>
      request<MobileIdView>('POST', `/api/mobile-ids/${encodeURIComponent(m.id)}/${act}`, { body: {} }),
    );
    if (done) {
      setSaid(`The mobile ID on phone ${m.device?.serial ?? ''} is ${humanize(done.state).toLowerCase()}.`);
      list.reload();
    }
  };
  if (list.data && list.data.items.length === 0) return null;
  return (
    <section className="card" aria-labelledby="mobile-ids-h">
      <h2 id="mobile-ids-h">Mobile IDs</h2>
      <ErrorPanel
        error={list.error}
        title="Could not load the mobile IDs"
        actions={<RetryButton onClick={list.reload} />}
      />
      <ErrorPanel error={action.error} title="The mobile ID was not changed" onDismiss={action.clear} />
      <StatusMessage>{said}</StatusMessage>
      {list.data && (
        <div className="table-wrap">
          <table className="table" aria-label="Mobile IDs">
            <thead>
              <tr>
                <th scope="col">Policy</th>
                <th scope="col">State</th>
                <th scope="col">Phone</th>
                <th scope="col">Valid until</th>
                <th scope="col">Certificates</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((m) => (
                <tr key={m.id} data-state={m.state}>
                  <td>{m.policy.name}</td>
                  <td>
                    {humanize(m.state)}
                    {m.cardHold && (
                      <div className="muted small">
                        {m.cardHold === 'card_suspended'
                          ? 'held while its PIV card is suspended'
                          : 'its PIV card ended with no card in its place'}
                      </div>
                    )}
                    {m.derivedFrom && (
                      <div className="muted small">
                        Derived from card <span className="mono">{m.derivedFrom.serial}</span> (
                        {humanize(m.derivedFrom.state).toLowerCase()})
                      </div>
                    )}
                    {m.error && <div className="muted small">{m.error}</div>}
                  </td>
                  <td className="mono">{m.device?.serial ?? '—'}</td>
                  <td>{m.validUntil ? formatDate(m.validUntil) : '—'}</td>
                  <td>
                    {m.certificates.map((c) => (
                      <div key={c.id}>
                        {humanize(c.profile)} <span className="mono small">{c.serial.slice(0, 12)}</span> (
                        {c.status})
                      </div>
                    ))}
                  </td>
                  <td>
                    {ACTIONS.filter((a) => a.from.includes(m.state) && can(a.permission)).map((a) => (
                      <button
                        key={a.act}
                        type="button"
                        className="btn btn-small"
                        disabled={action.busy}
                        aria-label={`${a.label} the mobile ID on phone ${m.device?.serial ?? ''}`}
                        onClick={() => void run(m, a.act)}
                      >
                        {a.label}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
