// Add Device on the User page: the cards in the readers of the operator's paired agents (with a
// refresh, as the reference says: "click to update the display of connected devices"), the Action
// Type (Issue Device by default, or Bind Device), the Device Policies allowed for the card's type,
// and the PIN as the security settings want it entered (displayed, disguised, or not at all).
// When card printing is available (reference 002) the printer tile shows: the card printer and its
// embedded reader (the encoder), configured once and proposed next time, and the layout; the card
// in that encoder is issued, then printed.
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api';
import { Badge } from '../components/Badge';
import { Dialog } from '../components/Dialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { PhoneLink } from '../components/PhoneLink';
import { deviceTypeLabel } from '../format';
import { useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type {
  ConnectedCard,
  Device,
  IssuanceAction,
  IssuanceJob,
  IssuanceStart,
  Policy,
  Printers,
  Settings,
  User,
} from '../types';
import { PinEntry, pinAcceptable, type PinValue } from './PinEntry';

interface Props {
  user: User;
  /** Issuing a replacement (reference 003): the request it completes, its policy, its bound device. */
  requestId?: string;
  policyId?: string | null;
  preferSerial?: string | null;
  onClose: () => void;
  onStarted: (device: Device, job: IssuanceJob | null) => void;
}

/** Which card is chosen (state only: element ids come from list positions, as ids need plain text). */
const cardKey = (c: ConnectedCard) => `${c.agentId}\u0000${c.reader}`;
/**
 * The device type policies are matched on: the registered device's, and for a card the inventory
 * does not know yet a PIV card (cardType is the server's description of the card, e.g. "PIV card").
 */
export const typeOfCard = (c: ConnectedCard) => c.device?.type ?? 'piv_card';
const selectable = (c: ConnectedCard) => c.cardPresent && (c.status === 'blank' || c.status === 'bound');

const STATUS_TEXT: Record<ConnectedCard['status'], string> = {
  blank: 'ready to issue',
  bound: 'bound to a person, can be issued',
  in_use: 'issued, cannot be chosen',
  unreadable: 'the card could not be read',
  empty: 'no card in the reader',
};

export function AddDeviceDialog({
  user,
  requestId,
  policyId: requestPolicy,
  preferSerial,
  onClose,
  onStarted,
}: Props) {
  const { can } = useSession();
  const cards = useLoad(() => api.issuance.cards(), []);
  const policies = useLoad(() => api.policies.list(), []);
  const settings = useLoad<Settings | null>(
    () => (can('settings.read') ? api.settings.get() : Promise.resolve(null)),
    [],
  );
  const [chosen, setChosen] = useState('');
  const [action, setAction] = useState<IssuanceAction>(can('device.issue') ? 'issue' : 'bind');
  const [policyId, setPolicyId] = useState(requestPolicy ?? '');
  const [pin, setPin] = useState<PinValue>({ pin: '', confirmation: '' });
  const start = useAction();
  const id = useId();

  // The printer tile: printers with an encoder, the one proposed (configured before), the layout.
  const printers = useLoad<Printers | null>(
    () => (can('device.issue') ? api.printing.printers() : Promise.resolve(null)),
    [],
  );
  const encoders = (printers.data?.items ?? []).filter((p) => p.encoder);
  const printingAvailable = !!printers.data?.available && encoders.length > 0;
  const layouts = useLoad(
    () => (printingAvailable ? api.layouts.list() : Promise.resolve(null)),
    [printingAvailable],
  );
  const [printing, setPrinting] = useState(false);
  const [printerId, setPrinterId] = useState('');
  const [changing, setChanging] = useState(false);
  const [layoutId, setLayoutId] = useState('');
  const configure = useAction();
  const printer = encoders.find((p) => p.id === printerId);
  const proposed = printers.data?.proposed ?? null;
  const configured = !!printer && proposed?.printerId === printer.id && proposed.encoder === printer.encoder;
  useEffect(() => {
    if (!printingAvailable) return;
    setPrinting(true);
    const p = encoders.find((x) => x.id === proposed?.printerId) ?? encoders[0];
    if (!encoders.some((x) => x.id === printerId)) setPrinterId(p?.id ?? '');
  }, [printers.data]);
  useEffect(() => {
    const items = layouts.data?.items ?? [];
    if (!items.some((l) => l.id === layoutId)) setLayoutId(items[0]?.id ?? '');
  }, [layouts.data]);
  const printingNow = printing && action === 'issue' && !!printer;
  // Printing: the card is the one in the printer's encoder.
  const encoderKey = printer ? `${printer.agentId}\u0000${printer.encoder}` : '';
  useEffect(() => {
    if (printingNow) setChosen(encoderKey);
  }, [printingNow, encoderKey, cards.data]);
  const saveConfiguration = async () => {
    if (!printer?.encoder) return;
    const out = await configure.run(() =>
      api.printing.configure({ printerId: printer.id, encoder: printer.encoder! }),
    );
    if (out) {
      printers.reload();
      setChanging(false);
    }
  };

  const card = cards.data?.items.find((c) => cardKey(c) === chosen);
  const allowed: Policy[] = card
    ? (policies.data?.items ?? []).filter((p) => (p.deviceTypes as string[]).includes(typeOfCard(card)))
    : [];
  const policy = allowed.find((p) => p.id === policyId);
  // Unknown settings (no settings.read): ask for the PIN in the safest way, masked and twice.
  const mode = settings.data?.initialPinDisplayMode ?? (settings.loading ? undefined : 'disguised');
  const needsPin = action === 'issue' && mode !== 'not_displayed';
  const masked = mode === 'disguised';

  // Preselect the first usable card, then the first policy for its type.
  useEffect(() => {
    if (!cards.data || printingNow) return;
    if (!cards.data.items.some((c) => cardKey(c) === chosen && selectable(c))) {
      const first =
        cards.data.items.find((c) => selectable(c) && !!preferSerial && c.serial === preferSerial) ??
        cards.data.items.find(selectable);
      setChosen(first ? cardKey(first) : '');
    }
  }, [cards.data]);
  // Nothing to check against while the cards or policies load (the printer tile may choose the
  // card first): keep the choice, a replacement's policy included, until there is.
  useEffect(() => {
    if (allowed.length === 0 || allowed.some((p) => p.id === policyId)) return;
    setPolicyId((allowed.find((p) => p.id === requestPolicy) ?? allowed[0]!).id);
  }, [chosen, policies.data, cards.data]);

  const ready =
    !!card &&
    selectable(card) &&
    !!policy &&
    mode !== undefined &&
    (!needsPin || pinAcceptable(policy.pinPolicy, pin, masked)) &&
    (!printingNow || (!!layoutId && cardKey(card) === encoderKey));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!card || !policy) return;
    const body: IssuanceStart = {
      userId: user.id,
      agentId: card.agentId,
      reader: card.reader,
      action,
      policyId: policy.id,
      ...(needsPin ? { pin: pin.pin, ...(masked ? { pinConfirmation: pin.confirmation } : {}) } : {}),
      ...(printingNow && printer ? { printerId: printer.id, layoutId } : {}),
    };
    const out = await start.run(() => api.issuance.start(requestId ? { ...body, requestId } : body));
    if (out) onStarted(out.device, out.job);
  };

  return (
    <Dialog
      open
      wide
      title={
        requestId ? `Issue the replacement for ${user.displayName}` : `Add a device for ${user.displayName}`
      }
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={`${id}-form`}
            className="btn btn-primary"
            disabled={!ready || start.busy}
          >
            {start.busy ? 'Starting…' : printingNow ? 'Start' : 'Continue'}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} className="form add-device" onSubmit={(e) => void submit(e)}>
        {printingAvailable && action === 'issue' && (
          <fieldset className="printer-tile">
            <legend>Card printer</legend>
            <div className="field field--inline">
              <input
                type="checkbox"
                id={`${id}-print`}
                checked={printing}
                onChange={(e) => setPrinting(e.target.checked)}
              />
              <label htmlFor={`${id}-print`}>Print the card on a card printer</label>
            </div>
            {printing && configured && !changing && printer && (
              <p className="printer-tile__chosen">
                <strong>{printer.name}</strong> on {printer.agentName} · encoder{' '}
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={`Encoder ${printer.encoder}: change the printer and its reader`}
                  onClick={() => setChanging(true)}
                >
                  {printer.encoder}
                </button>{' '}
                <Badge value={printer.state} />
              </p>
            )}
            {printing && (!configured || changing) && (
              <div className="form-grid">
                <div className="field">
                  <label htmlFor={`${id}-printer`}>Printer and its reader</label>
                  <select
                    id={`${id}-printer`}
                    value={printerId}
                    onChange={(e) => setPrinterId(e.target.value)}
                  >
                    {encoders.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name} — encoder {p.encoder} ({p.agentName}, {p.state})
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field field--actions">
                  <button
                    type="button"
                    className="btn"
                    disabled={!printer || configure.busy}
                    onClick={() => void saveConfiguration()}
                  >
                    {configure.busy ? 'Saving…' : 'Configure'}
                  </button>
                </div>
              </div>
            )}
            {printing && (
              <div className="field">
                <label htmlFor={`${id}-layout`}>Layout</label>
                <select id={`${id}-layout`} value={layoutId} onChange={(e) => setLayoutId(e.target.value)}>
                  {(layouts.data?.items ?? []).map((l) => (
                    <option key={l.id} value={l.id}>
                      {l.name}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {printingNow && printer && (
              <p className="muted small">
                Put a card in the printer: the card in its encoder ({printer.encoder}) is issued, then printed
                with the layout. You check the printed card before the device becomes active.
              </p>
            )}
            <ErrorPanel error={configure.error} title="Could not configure the printer" />
            <ErrorPanel error={layouts.error} title="Could not load the layouts" />
          </fieldset>
        )}
        <ErrorPanel error={printers.error} title="Could not list the card printers" />
        <fieldset className="connected-cards">
          <legend>Connected devices</legend>
          <div className="connected-cards__head">
            <p className="muted small">
              The cards in the readers of your paired agents.{' '}
              {can('agent.pair') && <Link to="/operator/agents">Manage agents</Link>}
            </p>
            <button type="button" className="btn btn-small" onClick={cards.reload} disabled={cards.loading}>
              {cards.loading ? 'Refreshing…' : 'Refresh connected devices'}
            </button>
          </div>
          <ErrorPanel error={cards.error} title="Could not list the connected devices" />
          {cards.data && cards.data.items.length === 0 && (
            <p className="notice">
              No card reader is connected. Pair an agent on this workstation (Agents page), plug in a reader,
              then refresh.
            </p>
          )}
          {cards.data && cards.data.items.length > 0 && (
            <ul className="card-choices" aria-busy={cards.loading}>
              {cards.data.items.map((c, i) => {
                const k = cardKey(c);
                const ok = selectable(c) && (!printingNow || k === encoderKey);
                const radioId = `${id}-card-${i}`;
                return (
                  <li key={k} className={`card-choice${ok ? '' : ' card-choice--disabled'}`}>
                    <input
                      type="radio"
                      name={`${id}-card`}
                      id={radioId}
                      value={String(i)}
                      checked={chosen === k}
                      disabled={!ok}
                      onChange={() => setChosen(k)}
                    />
                    <label htmlFor={radioId}>
                      <span className="card-choice__reader">{c.reader}</span>
                      <span className="muted small"> on {c.agentName}</span>
                      <span className="card-choice__meta">
                        {c.cardPresent ? (
                          <>
                            {c.cardType ?? deviceTypeLabel(typeOfCard(c))} · serial{' '}
                            <span className="mono">{c.serial ?? 'unknown'}</span> ·{' '}
                          </>
                        ) : null}
                        <Badge value={c.status} /> {STATUS_TEXT[c.status]}
                        {c.error ? ` — ${c.error}` : ''}
                      </span>
                    </label>
                  </li>
                );
              })}
            </ul>
          )}
        </fieldset>

        {can('device.issue') && (
          <fieldset className="connected-cards">
            <legend>Mobile smart card</legend>
            <p className="muted small">
              {user.displayName}’s phone becomes a PIV card: they scan this code with it, their wallet appears
              above as “{user.displayName}'s phone”, and you issue it like a card.
            </p>
            <PhoneLink
              make={() => api.wallet.link(user.id)}
              whose="their phone"
              buttonLabel="Show a QR code for their phone"
              readers={(cards.data?.items ?? []).map((c) => c.reader)}
              onWaiting={cards.reload}
              onConnected={(reader) => {
                const phone = cards.data?.items.find((c) => c.reader === reader && selectable(c));
                if (phone) setChosen(cardKey(phone));
              }}
            />
          </fieldset>
        )}

        <div className="form-grid">
          <div className="field">
            <label htmlFor={`${id}-action`}>Action Type</label>
            <select
              id={`${id}-action`}
              value={action}
              onChange={(e) => setAction(e.target.value as IssuanceAction)}
            >
              <option value="issue" disabled={!can('device.issue')}>
                Issue Device
              </option>
              <option value="bind">Bind Device</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-policy`}>Device Policy</label>
            <select
              id={`${id}-policy`}
              value={policyId}
              // A replacement is issued with its request's policy (the server refuses another).
              disabled={!card || (!!requestPolicy && policyId === requestPolicy)}
              onChange={(e) => setPolicyId(e.target.value)}
            >
              {!card && <option value="">Choose a device first</option>}
              {card && allowed.length === 0 && (
                <option value="">No policy applies to this device type</option>
              )}
              {allowed.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        {policy?.description && <p className="muted small">{policy.description}</p>}
        <ErrorPanel error={policies.error} title="Could not load the device policies" />

        {action === 'bind' && (
          <p className="notice">
            Binding assigns the device to {user.displayName} without personalizing it; issue it later.
          </p>
        )}
        {action === 'issue' && policy && mode === 'not_displayed' && (
          <p className="notice">
            {settings.data?.changePinDuringIssuance
              ? 'Tessera chooses the initial PIN; you will be asked to set a new PIN at the end of the issuance.'
              : 'Tessera chooses the initial PIN; it is not displayed. It can be retrieved once with Get Initial PIN on the User page.'}
          </p>
        )}
        {needsPin && policy && (
          <PinEntry policy={policy.pinPolicy} value={pin} onChange={setPin} masked={masked} />
        )}
        <ErrorPanel error={start.error} title="The issuance did not start" />
      </form>
    </Dialog>
  );
}
