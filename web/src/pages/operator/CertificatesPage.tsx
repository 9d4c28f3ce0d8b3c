// Certificates: find them by serial, status, subject or holder.
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ListTable, SelectFilter, FilterChip } from '../../components/ListTable';
import { SearchBox } from '../../components/SearchBox';
import { PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDate, formatSerial, humanize } from '../../format';
import { useLoad, useTitle } from '../../hooks';
import { CERTIFICATE_STATUSES } from '../../types';

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
        <SelectFilter
          id="certs-status"
          label="Status"
          value={values.status}
          onChange={(v) => setFilter('status', v)}
          any="Any status"
          options={CERTIFICATE_STATUSES.map((s) => ({ value: s, label: humanize(s) }))}
        />
        {values.userId && (
          <FilterChip clearLabel="Clear holder filter" onClear={() => setFilter('userId', '')}>
            Holder: <strong>{holder.data ? holder.data.displayName : values.userId}</strong>
          </FilterChip>
        )}
        {values.deviceId && (
          <FilterChip clearLabel="Clear device filter" onClear={() => setFilter('deviceId', '')}>
            One device
          </FilterChip>
        )}
      </form>
      <ListTable
        list={list}
        caption="Certificates"
        errorTitle="Could not load certificates"
        loadingText="Loading certificates"
        emptyText="No certificates match these filters."
        columns={['Serial', 'Subject', 'Profile', 'Slot', 'Status', 'Valid from', 'Expires']}
        row={(c) => (
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
        )}
        limit={LIMIT}
        offset={offset}
        onOffset={setOffset}
      />
    </>
  );
}
