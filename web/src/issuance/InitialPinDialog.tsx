// Get Initial PIN ("not displayed" mode without a PIN change at issuance): the PIN Tessera chose,
// retrieved once — the server forgets it after this answer and records the retrieval in the audit
// log — so the dialog says plainly that it will not be shown again.
import { useState } from 'react';
import { api } from '../api';
import { Dialog, DialogActions } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { ShownOnceValue } from '../components/CopyButton';
import { useAction } from '../hooks';
import type { Device } from '../types';

export function InitialPinDialog({ device, onClose }: { device: Device; onClose: () => void }) {
  const [pin, setPin] = useState<string | null>(null);
  const act = useAction();
  const reveal = async () => {
    const r = await act.run(() => api.devices.initialPin(device.id));
    if (r) setPin(r.pin);
  };
  return (
    <Dialog
      open
      title={`Initial PIN of device ${device.serial}`}
      onClose={onClose}
      footer={
        pin === null ? (
          <DialogActions
            onCancel={onClose}
            label="Show the initial PIN"
            busyLabel="Retrieving…"
            busy={act.busy}
            onAction={() => void reveal()}
          />
        ) : (
          <button type="button" className="btn btn-primary" onClick={onClose}>
            I have noted it — close
          </button>
        )
      }
    >
      <p className="warning" role="note">
        <strong>The initial PIN is shown once.</strong> After this dialog closes nobody — not you, not an
        administrator — can display it again. Hand it to the person securely; they should change it at first
        use.
      </p>
      {pin !== null && <ShownOnceValue label="Initial PIN" value={pin} />}
      <ErrorPanel error={act.error} title="The initial PIN could not be retrieved" />
    </Dialog>
  );
}
