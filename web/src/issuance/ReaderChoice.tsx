// Which reader holds a device's card: the cards present in the readers of the operator's paired
// agents, the one whose serial matches preselected, a warning when another card is chosen (the
// server refuses it). Recycling and the PIV check both need the card itself.
import { useEffect, useId, useState, type ReactNode } from 'react';
import { api } from '../api';
import { ErrorPanel } from '../components/ErrorPanel';
import { useLoad } from '../hooks';
import type { CardBody, ConnectedCard } from '../types';

const keyOf = (c: ConnectedCard) => `${c.agentId}\u0000${c.reader}`;

/** The reader chosen for the card with `serial`, and the control to choose it. */
export function useReaderChoice(serial: string): { card: CardBody | null; picker: ReactNode } {
  const cards = useLoad(() => api.issuance.cards(), []);
  const [chosen, setChosen] = useState('');
  const id = useId();
  const present = (cards.data?.items ?? []).filter((c) => c.cardPresent);
  useEffect(() => {
    const match = present.find((c) => c.serial === serial);
    if (match) setChosen(keyOf(match));
  }, [cards.data]);
  const card = present.find((c) => keyOf(c) === chosen);
  const wrongCard = card && card.serial !== null && card.serial !== serial;
  const picker = (
    <>
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
            {c.serial === serial ? ' (this device)' : ''}
          </option>
        ))}
      </select>
      {wrongCard && (
        <p className="notice" role="status">
          The card in this reader has serial {card.serial}, not {serial}: the server will refuse it.
        </p>
      )}
      <ErrorPanel error={cards.error} title="Could not list the connected devices" />
    </>
  );
  return { card: card ? { agentId: card.agentId, reader: card.reader } : null, picker };
}
