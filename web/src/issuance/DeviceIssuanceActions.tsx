// What an operator can still do with a device after (or during) an issuance, from its row on the
// User page: follow a running issuance, Retry or Cancel a failed one (its latest job, so a closed
// browser loses nothing), Recycle a failed/cancelled/terminated card, Get Initial PIN once,
// open the card's PIV check; a printed card waiting at its print step (Continue/Cancel), and a
// pending one (Activate).
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type { Device } from '../types';
import { InitialPinDialog } from './InitialPinDialog';
import { IssuanceDialog } from './IssuanceDialog';
import { RECYCLABLE, RecycleDialog } from './RecycleDialog';

/** Devices whose card holds what issuance wrote, so its PIV objects can be checked. */
const CHECKABLE: readonly Device['state'][] = ['active', 'pending', 'suspended', 'invalid'];

export function DeviceIssuanceActions({ device, onChanged }: { device: Device; onChanged: () => void }) {
  const { can } = useSession();
  const [open, setOpen] = useState<'' | 'job' | 'recycle' | 'pin'>('');
  const wantsJob = ['failed', 'issuing', 'active', 'pending'].includes(device.state);
  const info = useLoad(
    () => (wantsJob ? api.devices.issuance(device.id) : Promise.resolve(null)),
    [device.id, device.state, device.updatedAt],
  );
  const job = info.data?.job ?? null;
  const running = job?.status === 'running';
  const failed = device.state === 'failed' && job?.status === 'failed';
  const printStep = job?.status === 'awaiting_confirmation';
  const activate = useAction();
  return (
    <div className="row-actions">
      {job && (running || failed || printStep) && can('device.issue') && (
        <button type="button" className="btn btn-small" onClick={() => setOpen('job')}>
          {running ? 'Show progress' : printStep ? 'Check the printed card…' : 'Retry or cancel…'}
        </button>
      )}
      {device.state === 'pending' && can('device.issue') && (
        <button
          type="button"
          className="btn btn-small"
          disabled={activate.busy}
          onClick={() =>
            void activate.run(() => api.devices.activate(device.id)).then((d) => d && onChanged())
          }
        >
          {activate.busy ? 'Activating…' : 'Activate'}
        </button>
      )}
      <ErrorPanel error={activate.error} title="The device was not activated" />
      {RECYCLABLE.includes(device.state) && can('device.recycle') && (
        <button type="button" className="btn btn-small" onClick={() => setOpen('recycle')}>
          Recycle
        </button>
      )}
      {/* The server keeps the PIN during issuance for a retry: offer it only once the device is issued. */}
      {info.data?.initialPinAvailable &&
        (job?.status === 'succeeded' || (job?.status === 'cancelled' && device.state === 'pending')) &&
        (device.state === 'active' || device.state === 'pending') &&
        can('initial_pin.retrieve') && (
          <button type="button" className="btn btn-small" onClick={() => setOpen('pin')}>
            Get Initial PIN
          </button>
        )}
      {CHECKABLE.includes(device.state) && (
        <Link className="btn btn-small" to={`/operator/devices/${device.id}/conformance`}>
          PIV check
        </Link>
      )}
      {open === 'job' && job && (
        <IssuanceDialog
          jobId={job.id}
          initial={job}
          onSettled={onChanged}
          onClose={() => {
            setOpen('');
            onChanged();
          }}
        />
      )}
      {open === 'recycle' && (
        <RecycleDialog
          device={device}
          onClose={() => setOpen('')}
          onRecycled={() => {
            setOpen('');
            onChanged();
          }}
        />
      )}
      {open === 'pin' && (
        <InitialPinDialog
          device={device}
          onClose={() => {
            setOpen('');
            info.reload();
          }}
        />
      )}
    </div>
  );
}
