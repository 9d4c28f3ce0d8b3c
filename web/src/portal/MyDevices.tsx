// "I don't have my smart card": once signed in with security answers or the directory password,
// the person sees their devices and what to do now: report a problem with a device (lost, stolen,
// left at home, damaged, expired), follow their reports, and set up a replacement that is ready.
import { deviceTypeLabel, formatDate } from '../format';
import { useLoad } from '../hooks';
import type { Device, DeviceState, ReplacementRequest } from '../types';
import { MyRequests } from './MyRequests';
import { portalApi } from './portal-api';
import type { PortalMe } from './types';

const STATE_TEXT: Record<DeviceState, string> = {
  inventory: 'Not yours yet',
  bound: 'Waiting to be set up by you',
  issuing: 'Being set up',
  pending: 'Being set up',
  active: 'In use',
  suspended: 'On hold — the help desk suspended it',
  failed: 'Set-up failed — contact your help desk',
  awaiting_recycle: 'Withdrawn',
  invalid: 'On hold — a replacement was requested',
  terminated: 'Terminated',
};

/** Devices a person may report a problem with: in use, or on hold by the help desk. */
const REPORTABLE: DeviceState[] = ['active', 'suspended'];

interface Props {
  me: PortalMe;
  onChangeQuestions: () => void;
  onDone: () => void;
  onReport: (device: Device) => void;
  onEnroll: (request: ReplacementRequest) => void;
}

export function MyDevices({ me, onChangeQuestions, onDone, onReport, onEnroll }: Props) {
  const devices: Device[] = me.devices;
  const requests = useLoad(() => portalApi.myRequests(), [me]);
  const reportable = devices.filter((d) => REPORTABLE.includes(d.state));
  return (
    <div>
      <p>
        Signed in as <strong>{me.user.displayName}</strong> ({me.user.username}).
      </p>
      <h2>Your devices</h2>
      {devices.length === 0 ? (
        <p>You have no device yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Your devices">
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Serial</th>
                <th scope="col">State</th>
                <th scope="col">Valid until</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id}>
                  <td>{deviceTypeLabel(d.type)}</td>
                  <td className="mono">{d.serial}</td>
                  <td>{STATE_TEXT[d.state]}</td>
                  <td>{d.expiresAt ? formatDate(d.expiresAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {reportable.length > 0 && (
        <div className="portal-report">
          <h2>Something wrong with a device?</h2>
          <p>Lost, stolen, left at home, damaged or expired: report it here and it is put on hold at once.</p>
          <div className="portal-actions">
            {reportable.map((d) => (
              <button key={d.id} type="button" className="btn btn-large btn-wrap" onClick={() => onReport(d)}>
                Report a problem with my device {d.serial}
              </button>
            ))}
          </div>
        </div>
      )}
      <MyRequests requests={requests} onEnroll={onEnroll} />
      <p className="portal-notice" role="note">
        If your card is lost or stolen, report it here now or call your help desk: it is put on hold at once
        so nobody else can use it, and a replacement is prepared. If you only left it at home, you can get a
        temporary card for a few days.
      </p>
      <div className="portal-actions">
        <button type="button" className="btn btn-large" onClick={onChangeQuestions}>
          Change my security answers
        </button>
        <button type="button" className="btn btn-primary btn-large" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
