// Mobile ID in the user portal (reference 004): "Mobile ID" shows the person's mobile IDs (the active
// profile, its validity and certificates); Get Mobile ID → Next → the QR code shown here with how to
// proceed (or e-mailed) → Next → the mobile ID is created on the phone. Cancel closes the process at
// any step and leaves nothing half-made. Under a policy that requires the PIV card (a derived
// credential, SP 800-157), Next first has the person's card — in a reader of their agent — sign a
// one-time challenge after its PIN, typed here; the PIN goes to the card and is then forgotten.
import { useEffect, useState } from 'react';
import { toApiError, type ApiError } from '../api';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatDateTime, humanize } from '../format';
import { useLoad } from '../hooks';
import type { MobileIdOrdered, MobileIdView } from '../types';
import { portalApi } from './portal-api';

type View =
  | { name: 'list' }
  | { name: 'intro' }
  | { name: 'code'; ordered: MobileIdOrdered }
  | { name: 'creating'; id: string };

const STATE_TEXT: Record<MobileIdView['state'], string> = {
  awaiting_wallet: 'Waiting for your phone',
  issuing: 'Being created on your phone',
  active: 'Active',
  failed: 'Could not be created',
  cancelled: 'Cancelled',
  suspended: 'On hold',
  revoked: 'Revoked',
  terminated: 'Terminated',
  expired: 'Expired',
};

/** Why a mobile ID is on hold, as the person reads it. */
const holdText = (m: MobileIdView): string =>
  m.cardHold === 'card_suspended'
    ? `On hold — your PIV card ${m.derivedFrom?.serial ?? ''} is suspended`
    : m.cardHold === 'card_terminated'
      ? `On hold — your PIV card ${m.derivedFrom?.serial ?? ''} ended`
      : 'On hold — your help desk suspended it';

/**
 * The portal is open on a phone-sized screen (the stylesheet's phone width): it is not a second
 * screen, so a QR code shown here could not be scanned by the phone showing it — reference 004 sends
 * it by e-mail then. Read once, when the page opens.
 */
const onPhoneScreen = (): boolean => window.matchMedia?.('(max-width: 40rem)').matches === true;

export function MobileId({ onDone, start }: { onDone: () => void; start: boolean }) {
  const list = useLoad(() => portalApi.mobileIds(), []);
  const [view, setView] = useState<View>(start ? { name: 'intro' } : { name: 'list' });
  const [phoneScreen] = useState(onPhoneScreen);
  const [byMail, setByMail] = useState(phoneScreen);
  const [pin, setPin] = useState('');
  const requiresCard = list.data?.requiresCard === true && view.name === 'intro';
  const readers = useLoad(
    () => (requiresCard ? portalApi.cards() : Promise.resolve({ items: [] })),
    [requiresCard],
  );
  const mySerials = new Set((list.data?.cards ?? []).map((c) => c.serial));
  const myCard = readers.data?.items.find((r) => r.serial !== null && mySerials.has(r.serial));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const cancel = async (id: string | null) => {
    setError(null);
    if (id) {
      setBusy(true);
      try {
        await portalApi.cancelMobileId(id);
      } catch (e) {
        setBusy(false);
        return setError(toApiError(e));
      }
      setBusy(false);
    }
    list.reload();
    setView({ name: 'list' });
  };

  const order = async () => {
    setError(null);
    setBusy(true);
    try {
      let card;
      if (list.data?.requiresCard && myCard) {
        const { challengeId } = await portalApi.mobileIdCardChallenge();
        card = { challengeId, agentId: myCard.agentId, reader: myCard.reader, pin };
      }
      const ordered = await portalApi.orderMobileId({
        ...(byMail ? { delivery: 'email' as const } : {}),
        ...(card ? { card } : {}),
      });
      setView({ name: 'code', ordered });
    } catch (e) {
      setError(toApiError(e));
    } finally {
      // The PIN served this attempt only.
      setPin('');
      setBusy(false);
    }
  };

  let body;
  if (view.name === 'list') {
    const data = list.data;
    body = (
      <>
        <h2>Your mobile IDs</h2>
        {data && data.items.length === 0 && <p>You have no mobile ID yet.</p>}
        {data && data.items.length > 0 && (
          <div className="table-wrap">
            <table className="table" aria-label="Your mobile IDs">
              <thead>
                <tr>
                  <th scope="col">Profile</th>
                  <th scope="col">State</th>
                  <th scope="col">Phone</th>
                  <th scope="col">Valid until</th>
                  <th scope="col">Certificates</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((m) => (
                  <tr key={m.id} data-state={m.state}>
                    <td>{m.policy.name}</td>
                    <td>
                      {m.state === 'suspended' ? holdText(m) : STATE_TEXT[m.state]}
                      {m.derivedFrom && (
                        <div className="muted small">From your PIV card {m.derivedFrom.serial}</div>
                      )}
                    </td>
                    <td>{m.device ? `Phone ${m.device.serial}` : '—'}</td>
                    <td>{m.validUntil ? formatDate(m.validUntil) : '—'}</td>
                    <td>
                      {m.certificates.length === 0
                        ? '—'
                        : m.certificates.map((c) => `${humanize(c.profile)} (${c.status})`).join(', ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && !data.canOrder && data.reason && <p className="notice">{data.reason}</p>}
        {data?.items
          .filter((m) => m.state === 'awaiting_wallet' || m.state === 'issuing')
          .map((m) => (
            <p key={m.id}>
              A mobile ID is being created.{' '}
              <button type="button" className="btn" onClick={() => setView({ name: 'creating', id: m.id })}>
                Continue
              </button>{' '}
              <button type="button" className="btn" disabled={busy} onClick={() => void cancel(m.id)}>
                Cancel it
              </button>
            </p>
          ))}
        <div className="portal-actions">
          {data?.canOrder && (
            <button
              type="button"
              className="btn btn-primary btn-large"
              onClick={() => setView({ name: 'intro' })}
            >
              Get Mobile ID
            </button>
          )}
          <button type="button" className="btn btn-large" onClick={onDone}>
            Done
          </button>
        </div>
      </>
    );
  } else if (view.name === 'intro') {
    const data = list.data;
    const cardWhy = !data?.requiresCard
      ? null
      : !myCard
        ? 'Waiting for your PIV card: insert it into a reader.'
        : pin.length < 4
          ? 'Type your card’s PIN.'
          : null;
    body = (
      <>
        <h2>Get Mobile ID</h2>
        <p>
          A mobile ID is a smart card on your phone: your phone’s Tessera wallet holds your certificates, and
          you use it with a PIN you choose there.
        </p>
        {data && !data.canOrder && <p className="notice">{data.reason}</p>}
        {data?.delivery === 'email' ? (
          <p>Next sends you an e-mail with a QR code and a link to open on your phone.</p>
        ) : (
          <>
            <p>
              {byMail
                ? 'Next sends you an e-mail with a QR code and a link to open on your phone.'
                : 'Next shows a QR code here: scan it with your phone’s camera.'}
            </p>
            <div className="check">
              <input
                id="mid-by-mail"
                type="checkbox"
                checked={byMail}
                onChange={(e) => setByMail(e.target.checked)}
              />
              <label htmlFor="mid-by-mail">E-mail it to me instead (I am using this page on my phone)</label>
            </div>
            {phoneScreen && (
              <p className="muted small" role="note">
                This page seems to be open on your phone, so the QR code will be e-mailed to you: open the
                e-mail’s link on this phone. Untick the box to show it here instead.
              </p>
            )}
          </>
        )}
        {data?.requiresCard && (
          <section aria-labelledby="mid-card-h">
            <h3 id="mid-card-h">Your PIV card</h3>
            <p>
              Your mobile ID is derived from your PIV card: insert it into this computer’s card reader and
              type its PIN. The card signs a one-time challenge to prove it is with you.
            </p>
            {myCard ? (
              <p role="status">
                Your card {myCard.serial} is in reader “{myCard.reader}”.
              </p>
            ) : (
              <p role="status">
                Insert your card {data.cards.map((c) => c.serial).join(' or ')} into a reader of this
                computer, then choose Look again.{' '}
                <button type="button" className="btn btn-small" onClick={readers.reload}>
                  Look again
                </button>
              </p>
            )}
            <div className="field">
              <label htmlFor="mid-card-pin">Card PIN</label>
              <input
                id="mid-card-pin"
                type="password"
                inputMode="numeric"
                autoComplete="off"
                maxLength={8}
                value={pin}
                onChange={(e) => setPin(e.target.value)}
              />
            </div>
          </section>
        )}
        {cardWhy && (
          <p id="mid-next-why" className="muted small">
            {cardWhy}
          </p>
        )}
        <div className="portal-actions">
          <button
            type="button"
            className="btn btn-primary btn-large"
            disabled={
              busy ||
              (data !== undefined && data !== null && !data.canOrder) ||
              (data?.requiresCard === true && (!myCard || pin.length < 4))
            }
            aria-describedby={cardWhy ? 'mid-next-why' : undefined}
            onClick={() => void order()}
          >
            Next
          </button>
          <button type="button" className="btn btn-large" onClick={() => void cancel(null)}>
            Cancel
          </button>
        </div>
      </>
    );
  } else if (view.name === 'code') {
    const { ordered } = view;
    body = (
      <>
        <h2>Connect your phone</h2>
        {ordered.qr ? (
          <>
            <p>
              Scan this QR code with your phone’s camera and open the link: the Tessera wallet opens and
              connects. Then choose <strong>Next</strong>.
            </p>
            <img
              className="phone-link__qr"
              alt="QR code of your mobile ID link"
              src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(ordered.qr.svg)}`}
            />
            <p className="muted small">
              Or open this link on your phone: <a href={ordered.qr.url}>{ordered.qr.url.split('#')[0]}</a> —
              it works once, until {formatDateTime(ordered.qr.expiresAt)}.
            </p>
          </>
        ) : (
          <p>
            We e-mailed a QR code and a link to <strong>{ordered.sentTo}</strong>. Open the link on your phone
            (or scan the QR code with it), then choose <strong>Next</strong>.
          </p>
        )}
        <div className="portal-actions">
          <button
            type="button"
            className="btn btn-primary btn-large"
            onClick={() => setView({ name: 'creating', id: ordered.mobileId.id })}
          >
            Next
          </button>
          <button
            type="button"
            className="btn btn-large"
            disabled={busy}
            onClick={() => void cancel(ordered.mobileId.id)}
          >
            Cancel
          </button>
        </div>
      </>
    );
  } else {
    body = (
      <Creating
        id={view.id}
        busy={busy}
        onCancel={(id) => void cancel(id)}
        onDone={() => void cancel(null)}
      />
    );
  }

  return (
    <div>
      <ErrorPanel error={list.error ? toApiError(list.error) : error} title="Mobile ID" />
      {body}
    </div>
  );
}

/** Next: follows the mobile ID until it is active (or failed), saying what happens on the phone. */
function Creating({
  id,
  busy,
  onCancel,
  onDone,
}: {
  id: string;
  busy: boolean;
  onCancel: (id: string) => void;
  onDone: () => void;
}) {
  const [m, setM] = useState<MobileIdView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let stop = false;
    const tick = async () => {
      try {
        const v = await portalApi.mobileId(id);
        if (stop) return;
        setM(v);
        if (
          v.state === 'awaiting_wallet' ||
          v.state === 'issuing' ||
          (v.state === 'active' && v.job?.pinChangePending)
        )
          setTimeout(() => void tick(), 1000);
      } catch (e) {
        if (!stop) setError(toApiError(e));
      }
    };
    void tick();
    return () => {
      stop = true;
    };
  }, [id]);
  const final = m && !['awaiting_wallet', 'issuing'].includes(m.state);
  return (
    <>
      <h2>Creating your mobile ID</h2>
      <ErrorPanel error={error} title="Mobile ID" />
      {!m && <p>Looking…</p>}
      {m?.state === 'awaiting_wallet' && <p role="status">Waiting for your phone to open the link…</p>}
      {m?.state === 'issuing' && (
        <p role="status">
          Your phone is connected: your certificates are being created on it ({m.job?.progress ?? 0}%).{' '}
          {m.job?.step}
        </p>
      )}
      {m?.state === 'active' && (
        <div role="status">
          <p>
            <strong>Your mobile ID is active.</strong> Valid until{' '}
            {m.validUntil ? formatDate(m.validUntil) : '—'}.
          </p>
          {m.job?.pinChangePending && <p>Choose your PIN on your phone to finish.</p>}
          <ul aria-label="Certificates on your phone">
            {m.certificates.map((c) => (
              <li key={c.id}>
                {humanize(c.profile)}: {c.status}
              </li>
            ))}
          </ul>
        </div>
      )}
      {m?.state === 'failed' && (
        <p className="warning" role="alert">
          Your mobile ID could not be created: {m.error}
        </p>
      )}
      <div className="portal-actions">
        {final ? (
          <button type="button" className="btn btn-primary btn-large" onClick={onDone}>
            Mobile ID
          </button>
        ) : null}
        {m && (m.state === 'awaiting_wallet' || m.state === 'issuing' || m.state === 'failed') && (
          <button type="button" className="btn btn-large" disabled={busy} onClick={() => onCancel(m.id)}>
            Cancel
          </button>
        )}
      </div>
    </>
  );
}
