// Device policies: what a device of a given type gets at issuance (credentials, PIN rules, validity).
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Loading, PageHeader } from '../../components/Status';
import { deviceTypeLabel, formatDateTime } from '../../format';
import { useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { RetryButton } from '../../components/ListTable';

export function PoliciesPage() {
  useTitle('Device policies');
  const { can } = useSession();
  const list = useLoad(() => api.policies.list(), []);
  return (
    <>
      <PageHeader
        title="Device policies"
        intro="Which credentials a device receives, its PIN rules and how long it stays valid."
        actions={
          can('policy.write') && (
            <Link className="btn btn-primary" to="/operator/policies/new">
              New policy
            </Link>
          )
        }
      />
      <ErrorPanel
        error={list.error}
        title="Could not load policies"
        actions={<RetryButton onClick={list.reload} />}
      />
      {list.loading && !list.data && <Loading what="Loading policies" />}
      {list.data && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Device policies</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Device types</th>
                <th scope="col">Credentials</th>
                <th scope="col">PIN</th>
                <th scope="col">Device validity</th>
                <th scope="col">Version</th>
                <th scope="col">Last changed</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`/operator/policies/${p.id}`}>{p.name}</Link>
                    {p.description && <div className="muted small">{p.description}</div>}
                  </td>
                  <td>{p.deviceTypes.map(deviceTypeLabel).join(', ')}</td>
                  <td>
                    {p.credentialProfiles.map((c) => `${c.name} (${c.slot.toUpperCase()})`).join(', ') || (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td>
                    {p.pinPolicy.minLength}–{p.pinPolicy.maxLength}{' '}
                    {p.pinPolicy.charset === 'digits' ? 'digits' : 'characters'}
                  </td>
                  <td>{p.deviceValidityDays} days</td>
                  <td>{p.version}</td>
                  <td>{formatDateTime(p.updatedAt)}</td>
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={7} className="table__empty">
                    No device policies yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
