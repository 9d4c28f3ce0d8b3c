// Recycle: a card left by a failed or cancelled issuance, or a terminated one, is wiped (PIV reset,
// keys and PIN back to transport values) and returns to the inventory. The server needs the card
// itself, so the operator picks the reader holding it; the one whose serial matches is preselected.
import { useEffect, useId, useState } from 'react';
import { api } from '../api';
import { Dialog, DialogActions } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import type { ConnectedCard, Device } from '../types';

export const RECYCLABLE: readonly Device['state'][] = ['failed', 'awaiting_recycle', 'terminated'];

const keyOf = (c: ConnectedCard) => `${c.agentId}\u0000${c.reader}`;

export function RecycleDialog({
  device,
  onClose,
  onRecycled,
}: {
  device: Device;
  onClose: () => void;
  onRecycled: (d: Device) => void;
}) {
  const cards = useLoad(() => api.issuance.cards(), []);
  const [chosen, setChosen] = useState('');
  const act = useAction();
  const id = useId();
  const present = (cards.data?.items ?? []).filter((c) => c.cardPresent);
  useEffect(() => {
    const match = present.find((c) => c.serial === device.serial);
    if (match) setChosen(keyOf(match));
  }, [cards.data]);
  const card = present.find((c) => keyOf(c) === chosen);
  const wrongCard = card && card.serial !== null && card.serial !== device.serial;

  const recycle = async () => {
    if (!card) return;
    const d = await act.run(() =>
      api.devices.recycle(device.id, { agentId: card.agentId, reader: card.reader }),
    );
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
      <div className="connected-cards__head">
        <label htmlFor={`${id}-reader`}>Reader holding the card</label>
        <button type="button" className="btn btn-small" onClick={cards.reload} disabled={cards.loading}>
          {cards.loading ? 'Refreshing…' : 'Refresh connected devices'}
        </button>
      </div>
      <select id={`${id}-reader`} value={chosen} onChange={(e) => setChosen(e.target.value)}>
        <option value="">{present.length ? 'Choose a reader' : 'No card in any reader'}</option>
        {present.map((c) => (
          <option key={keyOf(c)} value={keyOf(c)}>
            {c.reader} on {c.agentName} — serial {c.serial ?? 'unknown'}
            {c.serial === device.serial ? ' (this device)' : ''}
          </option>
        ))}
      </select>
      {wrongCard && (
        <p className="notice" role="status">
          The card in this reader has serial {card.serial}, not {device.serial}: the server will refuse it.
        </p>
      )}
      <ErrorPanel error={cards.error} title="Could not list the connected devices" />
      <ErrorPanel error={act.error} title="The device was not recycled" />
    </Dialog>
  );
}
