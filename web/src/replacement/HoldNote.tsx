// The "why" beside a state on the User page: an invalid device names its replacement request, a
// suspended one says who suspended it, a temporary device names the request it stands in for, and
// a pending card printed for a request says that activating it completes the request, and a
// certificate on hold names each cause (a request, the device's suspension).
import { Link } from 'react-router-dom';
import { humanize } from '../format';
import { useSession } from '../session';
import type { DeviceHolds } from '../types';
import { heldBackForRequest, openReplacementOf, temporaryRequestOf } from './holds';

function RequestLink({ id, number }: { id: string; number: number }) {
  const { can } = useSession();
  return can('request.read') ? (
    <Link to={`/operator/requests/${id}`}>request #{number}</Link>
  ) : (
    <>#{number}</>
  );
}

export function DeviceHoldNote({ holds }: { holds: DeviceHolds | undefined }) {
  if (!holds) return null;
  const replaced = openReplacementOf(holds);
  const heldBack = heldBackForRequest(holds);
  const temporary = heldBack ? undefined : temporaryRequestOf(holds);
  const parts = [];
  if (heldBack)
    parts.push(
      <span key="p">
        Printed for <RequestLink {...heldBack} />: activating it completes the request
      </span>,
    );
  if (holds.state === 'invalid' && replaced)
    parts.push(
      <span key="r">
        Replacement {humanize(replaced.state).toLowerCase()}: <RequestLink {...replaced} /> (
        {humanize(replaced.reason ?? 'replacement').toLowerCase()})
      </span>,
    );
  if (holds.suspension)
    parts.push(
      <span key="s">
        Suspended{holds.suspension.by ? ` by ${holds.suspension.by}` : ''}
        {holds.suspension.note ? `: ${holds.suspension.note}` : ''}
      </span>,
    );
  if (temporary)
    parts.push(
      <span key="t">
        Temporary replacement: <RequestLink {...temporary} />
      </span>,
    );
  if (!parts.length) return null;
  return <span className="hold-note small">{parts}</span>;
}

type CredentialHold = DeviceHolds['credentials'][number]['holds'][number];

export function CredentialHoldNote({ holds }: { holds: CredentialHold[] | undefined }) {
  if (!holds?.length) return null;
  return (
    <span className="hold-note small">
      On hold by{' '}
      {holds.map((h, i) => (
        <span key={h.requestId ?? `s${i}`}>
          {i > 0 && ', '}
          {h.requestId && h.requestNumber !== null ? (
            <RequestLink id={h.requestId} number={h.requestNumber} />
          ) : h.deviceSuspension ? (
            'the device’s suspension'
          ) : (
            'an operator'
          )}
        </span>
      ))}
    </span>
  );
}
