// One certificate: its decoded fields, its PEM, and suspend / reinstate / revoke for operators
// holding certificate.suspend or certificate.revoke. Suspension is certificateHold on the CRL and
// in OCSP (RFC 5280 §5.3.1), so it can be undone; revocation cannot.
import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { deviceTypeLabel, formatDateTime, formatSerial, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { REVOCATION_REASONS, type CertificateDetail, type RevocationReason } from '../../types';
import { copyText } from '../../components/copy';
import { RetryButton } from '../../components/ListTable';

type Act = 'suspend' | 'reinstate' | 'revoke';

export function CertificatePage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const cert = useLoad(() => api.certificates.get(id), [id]);
  const [pending, setPending] = useState<Act | null>(null);
  const [reason, setReason] = useState<RevocationReason>('unspecified');
  const [status, setStatus] = useState('');
  const action = useAction();
  useTitle(cert.data ? `Certificate ${formatSerial(cert.data.serial)}` : 'Certificate');

  if (cert.error && !cert.data)
    return (
      <>
        <BackToCertificates />
        <ErrorPanel
          error={cert.error}
          title="Could not load this certificate"
          actions={<RetryButton onClick={cert.reload} />}
        />
      </>
    );
  if (!cert.data) return <Loading what="Loading certificate" />;
  const c = cert.data;

  const confirm = async () => {
    if (!pending) return;
    const done = await action.run(() =>
      pending === 'suspend'
        ? api.certificates.suspend(c.id)
        : pending === 'reinstate'
          ? api.certificates.reinstate(c.id)
          : api.certificates.revoke(c.id, reason),
    );
    if (done) {
      cert.setData({ ...c, ...done });
      setStatus(
        pending === 'suspend'
          ? 'The certificate is suspended (on hold).'
          : pending === 'reinstate'
            ? 'The certificate is valid again.'
            : 'The certificate is revoked.',
      );
      setPending(null);
    }
  };

  const canSuspend = can('certificate.suspend') && c.status === 'valid';
  const canReinstate = can('certificate.suspend') && c.status === 'suspended';
  const canRevoke = can('certificate.revoke') && c.status !== 'revoked';
  const open = (a: Act) => {
    action.clear();
    setPending(a);
  };

  return (
    <>
      <BackToCertificates />
      <PageHeader
        title={`Certificate ${formatSerial(c.serial)}`}
        intro={
          <>
            {humanize(c.profile)} · <Badge value={c.status} />
          </>
        }
        actions={
          <>
            <a className="btn" href={api.certificates.pemUrl(c.id)} download={`${c.serial}.pem`}>
              Download PEM
            </a>
            {canSuspend && (
              <button type="button" className="btn" onClick={() => open('suspend')}>
                Suspend
              </button>
            )}
            {canReinstate && (
              <button type="button" className="btn" onClick={() => open('reinstate')}>
                Reinstate
              </button>
            )}
            {canRevoke && (
              <button type="button" className="btn btn-danger-outline" onClick={() => open('revoke')}>
                Revoke
              </button>
            )}
          </>
        }
      />
      <StatusMessage>{status}</StatusMessage>
      <CertificateFields cert={c} />

      <ConfirmDialog
        open={pending !== null}
        title={
          pending === 'suspend'
            ? 'Suspend this certificate?'
            : pending === 'reinstate'
              ? 'Reinstate this certificate?'
              : 'Revoke this certificate?'
        }
        confirmLabel={pending === 'suspend' ? 'Suspend' : pending === 'reinstate' ? 'Reinstate' : 'Revoke'}
        danger={pending === 'revoke'}
        busy={action.busy}
        error={action.error}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      >
        {pending === 'suspend' && (
          <p>
            Relying parties will see the certificate on hold (in the next CRL and at once in OCSP). You can
            reinstate it later.
          </p>
        )}
        {pending === 'reinstate' && <p>The certificate becomes valid again and leaves the CRL.</p>}
        {pending === 'revoke' && (
          <>
            <p>
              <strong>Revocation is permanent.</strong> The certificate can never be used again.
            </p>
            <div className="field">
              <label htmlFor="revoke-reason">Revocation reason</label>
              <select
                id="revoke-reason"
                value={reason}
                onChange={(e) => setReason(e.target.value as RevocationReason)}
              >
                {REVOCATION_REASONS.map((r) => (
                  <option key={r} value={r}>
                    {humanize(r)}
                  </option>
                ))}
              </select>
            </div>
          </>
        )}
      </ConfirmDialog>
    </>
  );
}

function BackToCertificates() {
  return (
    <p className="back-link">
      <Link to="/operator/certificates">← Certificates</Link>
    </p>
  );
}

function List({ items }: { items: string[] }) {
  if (items.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain-list">
      {items.map((i) => (
        <li key={i}>{i}</li>
      ))}
    </ul>
  );
}

/** The holder by name (when this operator may read users), linking to their User page. */
function Holder({ userId }: { userId: string | null }) {
  const { can } = useSession();
  const user = useLoad(
    () => (userId && can('user.read') ? api.users.get(userId) : Promise.resolve(null)),
    [userId],
  );
  if (!userId) return <span className="muted">none</span>;
  return (
    <Link to={`/operator/users/${userId}`}>
      {user.data ? `${user.data.displayName} (${user.data.username})` : 'View user'}
    </Link>
  );
}

/** The device the certificate's key lives on, by type and serial. */
function DeviceRef({ deviceId }: { deviceId: string | null }) {
  const { can } = useSession();
  const device = useLoad(
    () => (deviceId && can('device.read') ? api.devices.get(deviceId) : Promise.resolve(null)),
    [deviceId],
  );
  if (!deviceId) return <span className="muted">none</span>;
  if (!device.data) return <span className="mono small">{deviceId}</span>;
  return (
    <>
      {deviceTypeLabel(device.data.type)} <span className="mono">{device.data.serial}</span>{' '}
      <Badge value={device.data.state} />
    </>
  );
}

function CertificateFields({ cert: c }: { cert: CertificateDetail }) {
  const [copied, setCopied] = useState('');
  return (
    <>
      <section className="card" aria-labelledby="cert-fields">
        <h2 id="cert-fields">Decoded fields</h2>
        <dl className="details">
          <dt>Subject</dt>
          <dd className="mono-soft">{c.subject}</dd>
          <dt>Issuer</dt>
          <dd className="mono-soft">{c.issuer}</dd>
          <dt>Serial number</dt>
          <dd className="mono">{formatSerial(c.serial)}</dd>
          <dt>Valid from</dt>
          <dd>{formatDateTime(c.notBefore)}</dd>
          <dt>Valid until</dt>
          <dd>{formatDateTime(c.notAfter)}</dd>
          <dt>Status</dt>
          <dd>
            <Badge value={c.status} />
            {c.revokedAt && (
              <span className="muted">
                {' '}
                since {formatDateTime(c.revokedAt)}
                {c.revocationReason && ` (${humanize(c.revocationReason)})`}
              </span>
            )}
          </dd>
          <dt>Profile</dt>
          <dd>
            {humanize(c.profile)}
            {c.slot && <span className="muted"> · slot {c.slot.toUpperCase()}</span>}
          </dd>
          <dt>Public key</dt>
          <dd>{c.publicKeyAlgorithm}</dd>
          <dt>Signature algorithm</dt>
          <dd>{c.signatureAlgorithm}</dd>
          <dt>Subject alternative names</dt>
          <dd>
            <List items={c.subjectAltNames} />
          </dd>
          <dt>Key usage</dt>
          <dd>
            <List items={c.keyUsage} />
          </dd>
          <dt>Extended key usage</dt>
          <dd>
            <List items={c.extendedKeyUsage} />
          </dd>
          <dt>CRL distribution points</dt>
          <dd>
            <List items={c.crlDistributionPoints} />
          </dd>
          <dt>OCSP</dt>
          <dd>
            <List items={c.ocspUrls} />
          </dd>
          <dt>CA issuers</dt>
          <dd>
            <List items={c.caIssuersUrls} />
          </dd>
          <dt>Holder</dt>
          <dd>
            <Holder userId={c.userId} />
          </dd>
          <dt>Device</dt>
          <dd>
            <DeviceRef deviceId={c.deviceId} />
          </dd>
        </dl>
      </section>
      <section className="card" aria-labelledby="cert-pem">
        <div className="card__head">
          <h2 id="cert-pem">PEM</h2>
          <button
            type="button"
            className="btn btn-small"
            onClick={() =>
              void copyText(c.pem).then((ok) => setCopied(ok ? 'PEM copied.' : 'Could not copy.'))
            }
          >
            Copy PEM
          </button>
        </div>
        <StatusMessage>{copied}</StatusMessage>
        <pre className="pem" tabIndex={0} aria-label="Certificate in PEM format">
          {c.pem}
        </pre>
      </section>
    </>
  );
}
