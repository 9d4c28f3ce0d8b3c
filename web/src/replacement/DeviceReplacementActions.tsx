// The replacement actions of a device on the User page (reference 003, issue 19 item 7):
// Replace… (the request), Suspend device / Resume (every credential on hold / released, audited
// with the operator's note), Terminate for a temporary replacement device (the original comes
// back) or, for an administrator, any device. The server checks each step again.
import { useState } from 'react';
import { api } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { useAction } from '../hooks';
import { useSession } from '../session';
import type { Device, DeviceHolds, RequestDetail } from '../types';
import { openReplacementOf, temporaryRequestOf } from './holds';
import { ReplaceDialog } from './ReplaceDialog';

type Pending = '' | 'replace' | 'suspend' | 'resume' | 'terminate';

interface Props {
  device: Device;
  holds: DeviceHolds | undefined;
  personName: string;
  /** After a change: what happened, in a sentence for the page's status line. */
  onChanged: (message: string) => void;
}

const TERMINABLE: Device['state'][] = ['active', 'suspended', 'invalid', 'pending'];

export function DeviceReplacementActions({ device, holds, personName, onChanged }: Props) {
  const { can } = useSession();
  const [open, setOpen] = useState<Pending>('');
  const [note, setNote] = useState('');
  const action = useAction();
  const temporary = temporaryRequestOf(holds);
  const replaced = openReplacementOf(holds);
  // A forgotten card may turn out lost: a permanent request over the temporary one.
  const overTemporary = device.state === 'invalid' && replaced?.reason === 'forgotten' && !temporary;
  const canReplace =
    can('request.submit') &&
    ((device.state === 'active' && !temporary) || device.state === 'suspended' || overTemporary);
  const canSuspend = can('certificate.suspend') && device.state === 'active';
  const canResume = can('certificate.suspend') && device.state === 'suspended';
  const canTerminate =
    TERMINABLE.includes(device.state) && ((can('request.submit') && !!temporary) || can('device.lifecycle'));

  const close = () => {
    setOpen('');
    setNote('');
    action.clear();
  };
  const confirm = async () => {
    const done =
      open === 'suspend'
        ? await action.run(() => api.devices.suspend(device.id, note.trim() || undefined))
        : open === 'resume'
          ? await action.run(() => api.devices.resume(device.id))
          : await action.run(() => api.devices.terminate(device.id));
    if (!done) return;
    const what =
      open === 'suspend'
        ? `Device ${device.serial} is suspended: its certificates are on hold.`
        : open === 'resume'
          ? `Device ${device.serial} is resumed.`
          : `Device ${device.serial} is terminated.`;
    close();
    onChanged(what);
  };

  const confirmText: Record<
    Exclude<Pending, '' | 'replace'>,
    { title: string; label: string; explain: string }
  > = {
    suspend: {
      title: `Suspend device ${device.serial}?`,
      label: 'Suspend device',
      explain:
        'Every certificate on the device is put on hold at once (OCSP and the next CRL say so). Resume releases them.',
    },
    resume: {
      title: `Resume device ${device.serial}?`,
      label: 'Resume',
      explain:
        'The holds this suspension placed are released; certificates held for another reason stay on hold.',
    },
    terminate: {
      title: `Terminate device ${device.serial}?`,
      label: 'Terminate',
      explain: temporary
        ? `This temporary device ends and its certificates are revoked; the original device of request #${temporary.number} comes back into service.`
        : 'Termination is final: the device’s certificates are revoked.',
    },
  };

  return (
    <>
      {canReplace && (
        <button type="button" className="btn btn-small" onClick={() => setOpen('replace')}>
          Replace…
        </button>
      )}
      {canSuspend && (
        <button type="button" className="btn btn-small" onClick={() => setOpen('suspend')}>
          Suspend device
        </button>
      )}
      {canResume && (
        <button type="button" className="btn btn-small" onClick={() => setOpen('resume')}>
          Resume
        </button>
      )}
      {canTerminate && (
        <button
          type="button"
          className="btn btn-small btn-danger-outline"
          onClick={() => setOpen('terminate')}
        >
          Terminate
        </button>
      )}
      {open === 'replace' && (
        <ReplaceDialog
          device={device}
          personName={personName}
          onClose={close}
          onDone={(r: RequestDetail) => {
            close();
            onChanged(`Replacement request #${r.number} is ${r.state}: device ${device.serial} is on hold.`);
          }}
        />
      )}
      {open !== '' && open !== 'replace' && (
        <ConfirmDialog
          open
          title={confirmText[open].title}
          confirmLabel={confirmText[open].label}
          danger={open === 'terminate'}
          busy={action.busy}
          error={action.error}
          onConfirm={() => void confirm()}
          onCancel={close}
        >
          <p>{confirmText[open].explain}</p>
          {open === 'suspend' && (
            <div className="field">
              <label htmlFor="device-action-note">Note (recorded in the audit log)</label>
              <input
                id="device-action-note"
                maxLength={1000}
                value={note}
                onChange={(e) => setNote(e.target.value)}
              />
            </div>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
