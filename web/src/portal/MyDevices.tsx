// "I don't have my smart card": once signed in with security answers or the directory password,
// the person sees their devices and what to do now. Declaring a lost, stolen or forgotten card
// here arrives with the replacement workflows; until then the page says whom to call.
import { deviceTypeLabel, formatDate } from '../format';
import type { Device, DeviceState } from '../types';
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

interface Props {
  me: PortalMe;
  onChangeQuestions: () => void;
  onDone: () => void;
}

export function MyDevices({ me, onChangeQuestions, onDone }: Props) {
  const devices: Device[] = me.devices;
  return (
    <div>
      <p>
        Signed in as <strong>{me.user.displayName}</strong> ({me.user.username}).
      </p>
      <h2>Your devices</h2>
      {devices.length === 0 ? (
        <p>You have no device yet.</p>
      ) : (
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
      )}
      <p className="portal-notice" role="note">
        If your card is lost or stolen, call your help desk now: they suspend it at once so nobody else can
        use it, and prepare a replacement. If you only left it at home, they can give you a temporary card for
        the day.
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
