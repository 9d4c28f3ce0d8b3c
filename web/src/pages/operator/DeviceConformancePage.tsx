// A device's PIV check: what its card holds — the discovery object, CCC, signed CHUID, Security
// Object, key history, each key slot's certificate — read back through the same PIV client that
// wrote it, and whether each object is present and its signature holds. Stored at issuance;
// "Check the card again" reads the card in a reader of the operator's agent now.
import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { Dialog, DialogActions } from '../../components/Dialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { deviceTypeLabel, formatDateTime } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useReaderChoice } from '../../issuance/ReaderChoice';
import { useSession } from '../../session';
import type { ConformanceReport, Device } from '../../types';

export function DeviceConformancePage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const device = useLoad(() => api.devices.get(id), [id]);
  const stored = useLoad(() => api.devices.conformance(id), [id]);
  const [report, setReport] = useState<ConformanceReport | null>(null);
  const [checking, setChecking] = useState(false);
  useTitle(device.data ? `PIV check of ${device.data.serial}` : 'PIV check');

  const error = device.error ?? stored.error;
  if (error && !(device.data && stored.data))
    return (
      <>
        <BackTo device={device.data} />
        <ErrorPanel
          error={error}
          title="Could not load this device's PIV check"
          actions={
            <RetryButton
              onClick={() => {
                device.reload();
                stored.reload();
              }}
            />
          }
        />
      </>
    );
  if (!device.data || !stored.data) return <Loading what="Loading the PIV check" />;
  const d = device.data;
  const shown = report ?? stored.data.report;

  return (
    <>
      <BackTo device={d} />
      <PageHeader
        title={`PIV check of ${deviceTypeLabel(d.type)} ${d.serial}`}
        intro={
          shown ? (
            <>
              {shown.ok ? (
                <Badge value="pass" label="Conforms" />
              ) : (
                <Badge value="fail" label="Does not conform" />
              )}{' '}
              Read back from the card {formatDateTime(shown.checkedAt)}.
            </>
          ) : (
            'This card has not been checked yet (it was issued before the check existed).'
          )
        }
        actions={
          can('device.issue') && (
            <button type="button" className="btn" onClick={() => setChecking(true)}>
              Check the card again
            </button>
          )
        }
      />
      {report && <StatusMessage>The card was read again; this is the new report.</StatusMessage>}
      {shown && (
        <div className="table-wrap">
          <table className="table" aria-label="What the card holds">
            <thead>
              <tr>
                <th scope="col">Object</th>
                <th scope="col">Present</th>
                <th scope="col">Signed</th>
                <th scope="col">Result</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {shown.items.map((i) => (
                <tr key={i.id} data-item={i.id}>
                  <th scope="row">{i.label}</th>
                  <td>{i.present ? 'yes' : 'no'}</td>
                  <td>{i.signed === null ? '—' : i.signed ? 'yes, signature holds' : 'no'}</td>
                  <td>
                    <Badge value={i.status} />
                  </td>
                  <td>
                    <ul className="plain-list">
                      {i.details.map((t, n) => (
                        <li key={n}>{t}</li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {checking && (
        <CheckDialog
          device={d}
          onClose={() => setChecking(false)}
          onChecked={(r) => {
            setReport(r);
            setChecking(false);
          }}
        />
      )}
    </>
  );
}

function CheckDialog({
  device,
  onClose,
  onChecked,
}: {
  device: Device;
  onClose: () => void;
  onChecked: (r: ConformanceReport) => void;
}) {
  const { card, picker } = useReaderChoice(device.serial);
  const act = useAction();
  const check = async () => {
    if (!card) return;
    const r = await act.run(() => api.devices.checkConformance(device.id, card));
    if (r) onChecked(r);
  };
  return (
    <Dialog
      open
      title={`Check card ${device.serial}`}
      onClose={onClose}
      footer={
        <DialogActions
          onCancel={onClose}
          cancelLabel="Close"
          label="Check"
          busyLabel="Reading the card…"
          busy={act.busy}
          disabled={!card}
          onAction={() => void check()}
        />
      }
    >
      <p>
        The card is read, not changed: its objects and certificates are checked against what Tessera wrote and
        signed. Put the card in a reader of a paired agent and choose that reader.
      </p>
      {picker}
      <ErrorPanel error={act.error} title="The card was not checked" />
    </Dialog>
  );
}

function BackTo({ device }: { device: Device | undefined }) {
  return (
    <p className="back-link">
      {device?.userId ? (
        <Link to={`/operator/users/${device.userId}`}>← The device’s holder</Link>
      ) : (
        <Link to="/operator/devices">← Devices</Link>
      )}
    </p>
  );
}
