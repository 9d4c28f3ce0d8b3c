// Certificates: find them by serial, status, subject or holder.
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Pagination } from '../../components/Pagination';
import { SearchBox } from '../../components/SearchBox';
import { Loading, PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDate, formatSerial, humanize } from '../../format';
import { useLoad, useTitle } from '../../hooks';
import { CERTIFICATE_STATUSES } from '../../types';
import { RetryButton } from './UsersPage';

const LIMIT = 25;

export function CertificatesPage() {
  useTitle('Certificates');
  const { values, offset, setFilter, setOffset } = useListParams([
    'q',
    'serial',
    'status',
    'userId',
    'deviceId',
  ] as const);
  const list = useLoad(
    () =>
      api.certificates.list({
        q: values.q,
        // Serials are stored lower-case hex; people paste them with colons or spaces.
        serial: values.serial.replace(/[\s:]/g, '').toLowerCase(),
        status: values.status,
        userId: values.userId,
        deviceId: values.deviceId,
        limit: LIMIT,
        offset,
      }),
    [values.q, values.serial, values.status, values.userId, values.deviceId, offset],
  );
  const holder = useLoad(
    () => (values.userId ? api.users.get(values.userId) : Promise.resolve(null)),
    [values.userId],
  );

  return (
    <>
      <PageHeader title="Certificates" intro="Every certificate the Tessera CA has issued." />
      <form
        className="filters"
        role="search"
        aria-label="Filter certificates"
        onSubmit={(e) => e.preventDefault()}
      >
        <SearchBox
          id="certs-q"
          label="Search certificates"
          placeholder="Subject, holder or profile"
          value={values.q}
          onSearch={(q) => setFilter('q', q)}
        />
        <SearchBox
          id="certs-serial"
          label="Serial number"
          placeholder="e.g. 3f:a2:…"
          value={values.serial}
          onSearch={(s) => setFilter('serial', s)}
        />
        <div className="field">
          <label htmlFor="certs-status">Status</label>
          <select
            id="certs-status"
            value={values.status}
            onChange={(e) => setFilter('status', e.target.value)}
          >
            <option value="">Any status</option>
            {CERTIFICATE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </div>
        {values.userId && (
          <div className="filter-chip">
            <span>
              Holder: <strong>{holder.data ? holder.data.displayName : values.userId}</strong>
            </span>
            <button type="button" className="btn btn-ghost btn-small" onClick={() => setFilter('userId', '')}>
              Clear holder filter
            </button>
          </div>
        )}
        {values.deviceId && (
          <div className="filter-chip">
            <span>One device</span>
            <button
              type="button"
              className="btn btn-ghost btn-small"
              onClick={() => setFilter('deviceId', '')}
            >
              Clear device filter
            </button>
          </div>
        )}
      </form>
      <ErrorPanel
        error={list.error}
        title="Could not load certificates"
        actions={<RetryButton onClick={list.reload} />}
      />
      {list.loading && !list.data && <Loading what="Loading certificates" />}
      {list.data && (
        <>
          <div className="table-wrap" aria-busy={list.loading}>
            <table className="table">
              <caption className="visually-hidden">Certificates</caption>
              <thead>
                <tr>
                  <th scope="col">Serial</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Profile</th>
                  <th scope="col">Slot</th>
                  <th scope="col">Status</th>
                  <th scope="col">Valid from</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((c) => (
                  <tr key={c.id}>
                    <td className="mono">
                      <Link to={`/operator/certificates/${c.id}`}>{formatSerial(c.serial)}</Link>
                    </td>
                    <td className="cell-wrap">{c.subject}</td>
                    <td>{humanize(c.profile)}</td>
                    <td>{c.slot?.toUpperCase() ?? '—'}</td>
                    <td>
                      <Badge value={c.status} />
                    </td>
                    <td>{formatDate(c.notBefore)}</td>
                    <td>{formatDate(c.notAfter)}</td>
                  </tr>
                ))}
                {list.data.items.length === 0 && (
                  <tr>
                    <td colSpan={7} className="table__empty">
                      No certificates match these filters.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <Pagination
            label="Certificates"
            total={list.data.total}
            limit={LIMIT}
            offset={offset}
            onChange={setOffset}
          />
        </>
      )}
    </>
  );
}
