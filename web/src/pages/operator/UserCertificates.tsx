// The User page's certificates: every certificate issued to the person, sorted by PIV slot, with
// shortened serials (whole on hover and copy) and why a suspended one is on hold.
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading } from '../../components/Status';
import { useStackTable } from '../../components/stack-table';
import { formatDate, formatSerial, humanize, shortSerial } from '../../format';
import { useLoad } from '../../hooks';
import { CredentialHoldNote } from '../../replacement/HoldNote';
import { holdsByCredential, type HoldsByDevice } from '../../replacement/holds';

export function UserCertificates({
  userId,
  refresh,
  holds,
}: {
  userId: string;
  refresh: number;
  holds: HoldsByDevice | undefined;
}) {
  const certs = useLoad(() => api.certificates.list({ userId, limit: 200 }), [userId, refresh]);
  const causes = holdsByCredential(holds);
  const stack = useStackTable();
  return (
    <section className="card" aria-labelledby="certs-h">
      <div className="card__head">
        <h2 id="certs-h">Certificates</h2>
        <Link className="btn btn-small" to={`/operator/certificates?userId=${encodeURIComponent(userId)}`}>
          Search these certificates
        </Link>
      </div>
      <ErrorPanel
        error={certs.error}
        title="Could not load the certificates"
        actions={<RetryButton onClick={certs.reload} />}
      />
      {certs.loading && !certs.data && <Loading what="Loading certificates" />}
      {certs.data &&
        (certs.data.items.length === 0 ? (
          <p className="muted">No certificates have been issued to this user.</p>
        ) : (
          <div className="table-wrap">
            <table ref={stack} className="table table--stack">
              <caption className="visually-hidden">Certificates of this user</caption>
              <thead>
                <tr>
                  <th scope="col">Serial</th>
                  <th scope="col">Profile</th>
                  <th scope="col">Slot</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Status</th>
                  <th scope="col">Valid from</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {bySlot(certs.data.items).map((c) => (
                  <tr key={c.id}>
                    <td
                      className="mono nowrap"
                      onCopy={(e) => {
                        // Copying the shortened serial copies the whole one.
                        e.clipboardData.setData('text/plain', formatSerial(c.serial));
                        e.preventDefault();
                      }}
                    >
                      <Link to={`/operator/certificates/${c.id}`} title={formatSerial(c.serial)}>
                        {shortSerial(c.serial)}
                      </Link>
                    </td>
                    <td>{humanize(c.profile)}</td>
                    <td>{c.slot?.toUpperCase() ?? '—'}</td>
                    <td className="cell-subject">{c.subject}</td>
                    <td>
                      <Badge value={c.status} />
                      {c.status === 'suspended' && c.credentialId && (
                        <CredentialHoldNote holds={causes.get(c.credentialId)} />
                      )}
                    </td>
                    <td>{formatDate(c.notBefore)}</td>
                    <td>{formatDate(c.notAfter)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}

/** The card's slots in their PIV order (9A, 9C, 9D, 9E, then retired and others), newest first in each. */
function bySlot<T extends { slot: string | null; notBefore: string }>(items: readonly T[]): T[] {
  const order = (slot: string | null) => {
    const i = ['9a', '9c', '9d', '9e'].indexOf(slot ?? '');
    return i >= 0 ? i : slot ? 4 : 5;
  };
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...items].sort(
    (a, b) =>
      order(a.slot) - order(b.slot) || cmp(a.slot ?? '', b.slot ?? '') || cmp(b.notBefore, a.notBefore),
  );
}
