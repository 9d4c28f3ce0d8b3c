// Recycle: a card left by a failed or cancelled issuance, or a terminated one, is wiped (PIV reset,
// keys and PIN back to transport values) and returns to the inventory. The server needs the card
// itself, so the operator picks the reader holding it; the one whose serial matches is preselected.
import { api } from '../api';
import { Dialog, DialogActions } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import type { Device } from '../types';
import { useReaderChoice } from './ReaderChoice';

export const RECYCLABLE: readonly Device['state'][] = ['failed', 'awaiting_recycle', 'terminated', 'pending'];

export function RecycleDialog({
  device,
  onClose,
  onRecycled,
}: {
  device: Device;
  onClose: () => void;
  onRecycled: (d: Device) => void;
}) {
  const { card, picker } = useReaderChoice(device.serial);
  const act = useAction();

  const recycle = async () => {
    if (!card) return;
    const d = await act.run(() => api.devices.recycle(device.id, card));
    if (d) onRecycled(d);
  };

  return (
    <Dialog
      open
      title={`Recycle device ${device.serial}`}
      onClose={onClose}
      footer={
        <DialogActions
          onCancel={onClose}
          cancelLabel="Close"
          label="Recycle"
          busyLabel="Recycling…"
          busy={act.busy}
          disabled={!card}
          onAction={() => void recycle()}
        />
      }
    >
      <p>
        Recycling wipes the card — its keys, certificates and PIN are reset — and returns it to the inventory,
        ready to be issued again. Put the card in a reader of a paired agent and choose that reader.
      </p>
      {picker}
      <ErrorPanel error={act.error} title="The device was not recycled" />
    </Dialog>
  );
}
