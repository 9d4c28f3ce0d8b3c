// Sign-in delays in force (decision 0022): on the Security settings page all of them, on a User
// page the person's own. Whoever may change people's lifecycle (user.lifecycle) lifts one.
import { useState } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, StatusMessage } from '../../components/Status';
import { formatDateTime, humanize } from '../../format';
import { useAction, useLoad } from '../../hooks';
import { useSession } from '../../session';
import type { SignInDelay } from '../../types';

const SCOPE: Record<SignInDelay['scope'], string> = {
  name: 'This name, from everywhere',
  address: 'Every name, from this address',
  name_address: 'This name, from this address',
};

export function SignInDelays({ username }: { username?: string }) {
  const { can } = useSession();
  const delays = useLoad(() => api.signInDelays.list(username), [username]);
  const lift = useAction();
  const [status, setStatus] = useState('');
  const onLift = async (d: SignInDelay) => {
    const done = await lift.run(() => api.signInDelays.lift(d));
    if (done) {
      setStatus(`The delay on ${d.subject} is lifted.`);
      delays.reload();
    }
  };
  return (
    <section className="card" aria-labelledby="delays-h">
      <h2 id="delays-h">Sign-in delays</h2>
      <p className="muted">
        After repeated wrong passwords or answers, sign-in is delayed — for the name from that address, for
        every name from an address, or for a name from everywhere but where it has signed in before. The
        person is only told that the sign-in failed.
      </p>
      <ErrorPanel
        error={delays.error}
        title="Could not load the sign-in delays"
        actions={<RetryButton onClick={delays.reload} />}
      />
      <ErrorPanel error={lift.error} title="The delay was not lifted" onDismiss={lift.clear} />
      <StatusMessage>{status}</StatusMessage>
      {delays.loading && !delays.data && <Loading what="Loading sign-in delays" />}
      {delays.data &&
        (delays.data.items.length === 0 ? (
          <p>No sign-in delay is in force{username ? ' for this person' : ''}.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Sign-in delays in force</caption>
              <thead>
                <tr>
                  <th scope="col">Sign-in with</th>
                  <th scope="col">Applies to</th>
                  <th scope="col">Name</th>
                  <th scope="col">Address</th>
                  <th scope="col">Failures</th>
                  <th scope="col">Delayed until</th>
                  {can('user.lifecycle') && <th scope="col">Action</th>}
                </tr>
              </thead>
              <tbody>
                {delays.data.items.map((d) => (
                  <tr key={`${d.secret} ${d.scope} ${d.subject}`}>
                    <td>{humanize(d.secret)}</td>
                    <td>{SCOPE[d.scope]}</td>
                    <td>{d.name ?? '—'}</td>
                    <td className="mono">{d.address ?? '—'}</td>
                    <td>{d.failures}</td>
                    <td>{formatDateTime(d.until)}</td>
                    {can('user.lifecycle') && (
                      <td>
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={lift.busy}
                          aria-label={`Lift the delay on ${d.subject} (${humanize(d.secret)})`}
                          onClick={() => void onLift(d)}
                        >
                          Lift
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}
