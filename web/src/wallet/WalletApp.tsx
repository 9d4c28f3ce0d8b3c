// The wallet's one screen, made for a phone: what this phone's smart card holds (certificates, PIN
// and PUK tries left), its link to the server and what the server is doing with it (personalizing,
// waiting for the PIN chosen in the portal, done, failed), and Reset. The card's commands come from
// the server over the link; nothing here can read a key.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { LinkState, Wallet, WalletView } from './wallet';

interface Props {
  wallet: Wallet;
  /** The one-time code the page was opened with (main.tsx connected with it), if any. */
  code: string | null;
}

/** The code in a pasted link ("…/wallet#link=CODE") or the code itself. */
export function codeFrom(text: string): string | null {
  const t = text.trim();
  const m = /[#&]link=([^&\s]+)/.exec(t);
  const code = m ? decodeURIComponent(m[1]!) : t;
  return /^[A-Z0-9]{10}\.[A-Za-z0-9_-]{43}$/.test(code) ? code : null;
}

function linkText(s: LinkState, v: WalletView): string {
  switch (s.kind) {
    case 'unlinked':
      return 'Not linked to a server.';
    case 'connecting':
      return 'Connecting to the server…';
    case 'connected':
      return `Connected. The server sees this phone as “${v.linkedAs ?? 'your phone'}”.`;
    case 'reconnecting':
      return `The connection was lost. Trying again in ${s.inSeconds} s…`;
    case 'refused':
      return s.message;
  }
}

const REASONS: Record<string, string> = {
  lost: 'reported lost',
  stolen: 'reported stolen',
  damaged: 'damaged',
  expired: 'expired',
  forgotten: 'left at home',
};

/** Remote issuance: the help desk's replacement waits for this phone. */
function Offer({ v, wallet }: { v: WalletView; wallet: Wallet }) {
  const o = v.offer;
  if (!o) return null;
  const replaced = o.replaces
    ? `your ${o.replaces.type === 'mobile' ? 'phone' : 'card'} ${o.replaces.serial}${o.reason ? `, ${REASONS[o.reason] ?? o.reason}` : ''}`
    : 'your earlier device';
  return (
    <div className="wallet-activity wallet-activity--ask" role="region" aria-labelledby="wallet-offer-h">
      <h3 id="wallet-offer-h">New credentials are ready for you</h3>
      <p>
        Your help desk made them to replace {replaced} (request #{o.number}). Set them up on this phone: it
        becomes your smart card, and you choose its PIN here.
      </p>
      <button
        type="button"
        className="btn btn-primary"
        disabled={v.sending || v.link.kind !== 'connected'}
        onClick={() => wallet.enrol(o.requestId)}
      >
        {v.sending ? 'Starting…' : 'Set up my new credentials'}
      </button>
    </div>
  );
}

/** The PIN chosen on this phone at the end of a remote issuance. */
function PinOnPhone({ v, wallet, jobId }: { v: WalletView; wallet: Wallet; jobId: string }) {
  const [pin, setPin] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    wallet.choosePin(jobId, pin, confirmation);
    setPin('');
    setConfirmation('');
  };
  return (
    <form className="wallet-activity wallet-activity--ask wallet-pin" onSubmit={submit}>
      <p>
        Keys and certificates are on this phone. <strong>Choose your new PIN</strong>: you enter it each time
        this phone signs for you.
      </p>
      <label htmlFor="wallet-pin">New PIN</label>
      <input
        id="wallet-pin"
        type="password"
        inputMode="numeric"
        autoComplete="new-password"
        maxLength={16}
        value={pin}
        onChange={(e) => setPin(e.target.value)}
      />
      <label htmlFor="wallet-pin-again">New PIN again</label>
      <input
        id="wallet-pin-again"
        type="password"
        inputMode="numeric"
        autoComplete="new-password"
        maxLength={16}
        value={confirmation}
        onChange={(e) => setConfirmation(e.target.value)}
      />
      <button type="submit" className="btn btn-primary" disabled={v.sending || !pin || !confirmation}>
        {v.sending ? 'Setting the PIN…' : 'Set PIN'}
      </button>
    </form>
  );
}

const SLOT_USE: Record<string, string> = {
  '9A': 'sign you in (authentication key, 9A)',
  '9C': 'sign a document (signature key, 9C)',
  '9D': 'decrypt (key management key, 9D)',
  '9E': 'authenticate the card (9E)',
};

/** Workstations using this phone as their smart card: Allow / Refuse a request, Unpair, each use. */
function Workstations({ v, wallet }: { v: WalletView; wallet: Wallet }) {
  if (!v.pairings.length && !v.keyUse) return null;
  return (
    <section className="wallet-link" aria-labelledby="wallet-ws-h">
      <h2 id="wallet-ws-h">Computers</h2>
      {v.keyUse && (
        <div
          role="alertdialog"
          aria-labelledby="wallet-keyuse-q"
          className="wallet-activity wallet-activity--ask"
        >
          <p id="wallet-keyuse-q">
            <strong>{v.keyUse.by}</strong> asks to use your key to{' '}
            {SLOT_USE[v.keyUse.slot] ?? `use the key in slot ${v.keyUse.slot}`}.
          </p>
          <div className="wallet-actions">
            <button type="button" className="btn btn-primary" onClick={() => wallet.answerKeyUse(true)}>
              Allow
            </button>
            <button type="button" className="btn" onClick={() => wallet.answerKeyUse(false)}>
              Refuse
            </button>
          </div>
        </div>
      )}
      <ul className="wallet-pairings">
        {v.pairings.map((p) =>
          p.state === 'pending' ? (
            <li key={p.id} className="wallet-activity wallet-activity--ask">
              <p>
                <strong>{p.workstation}</strong> asks to use this phone as its smart card. Allow it only if
                the computer shows the code <strong className="mono">{p.code}</strong>.
              </p>
              <div className="wallet-actions">
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() => wallet.decidePairing(p.id, true)}
                  aria-label={`Allow ${p.workstation}`}
                >
                  Allow
                </button>
                <button
                  type="button"
                  className="btn"
                  onClick={() => wallet.decidePairing(p.id, false)}
                  aria-label={`Refuse ${p.workstation}`}
                >
                  Refuse
                </button>
              </div>
            </li>
          ) : (
            <li key={p.id}>
              <span>
                <strong>{p.workstation}</strong> uses this phone as its smart card.
              </span>{' '}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => wallet.unpair(p.id)}
                aria-label={`Unpair ${p.workstation}`}
              >
                Unpair
              </button>
            </li>
          ),
        )}
      </ul>
    </section>
  );
}

/** What the server is doing with this card, in the person's words. */
function JobStatus({ v, wallet }: { v: WalletView; wallet: Wallet }) {
  const j = v.job;
  if (!j) return v.busy ? <p className="wallet-activity">The server is reading this phone’s card…</p> : null;
  switch (j.status) {
    case 'running':
      return (
        <div className="wallet-activity">
          <p>
            <strong>Personalizing…</strong> {j.step}
          </p>
          <progress max={100} value={j.progress} aria-label="Personalization progress">
            {j.progress} %
          </progress>
        </div>
      );
    case 'succeeded':
      if (j.pinChangePending && j.onPhone) return <PinOnPhone v={v} wallet={wallet} jobId={j.id} />;
      return j.pinChangePending ? (
        <p className="wallet-activity wallet-activity--ask">
          Keys and certificates are on this phone. <strong>Choose your new PIN</strong> on the screen where
          you started (the portal on your computer).
        </p>
      ) : (
        <p className="wallet-activity wallet-activity--done">
          <strong>Done.</strong> This phone is your smart card now.
        </p>
      );
    case 'failed':
      if (j.onPhone)
        return (
          <div className="wallet-activity wallet-activity--failed">
            <p>
              <strong>The set-up stopped.</strong> {j.error ?? ''}
            </p>
            <button
              type="button"
              className="btn"
              disabled={v.sending || v.link.kind !== 'connected'}
              onClick={() => wallet.retry(j.id)}
            >
              Try again
            </button>
          </div>
        );
      return (
        <p className="wallet-activity wallet-activity--failed">
          <strong>The set-up stopped.</strong> {j.error ?? ''} Keep this page open and choose Retry where the
          set-up was started.
        </p>
      );
    case 'cancelled':
      return <p className="wallet-activity">The set-up was cancelled by your help desk.</p>;
  }
}

export function WalletApp({ wallet, code }: Props) {
  const [v, setV] = useState<WalletView>(() => wallet.view());
  const [pasted, setPasted] = useState('');
  const [pasteError, setPasteError] = useState('');
  const [confirmReset, setConfirmReset] = useState(false);
  const [resetting, setResetting] = useState(false);
  const lastCode = useRef(code);

  useEffect(() => wallet.subscribe(setV), [wallet]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const c = codeFrom(pasted);
    if (!c) return setPasteError('That is not a wallet link. Copy the whole link the portal shows.');
    setPasteError('');
    setPasted('');
    lastCode.current = c;
    wallet.connect(c);
  };

  const reset = async () => {
    setResetting(true);
    try {
      await wallet.reset();
    } finally {
      setResetting(false);
      setConfirmReset(false);
    }
  };

  const refusedByNetwork = v.link.kind === 'refused' && /reach the server/.test(v.link.message);
  const showPaste = v.link.kind === 'unlinked' || v.link.kind === 'refused';

  return (
    <div className="wallet">
      <header className="wallet-header">
        <h1>Tessera wallet</h1>
        <p className="wallet-sub">This phone is a smart card.</p>
      </header>

      <section className="wallet-card" aria-labelledby="wallet-card-h">
        <h2 id="wallet-card-h">{v.linkedAs ?? 'This phone’s smart card'}</h2>
        <dl className="wallet-facts">
          <dt>Serial</dt>
          <dd className="mono" data-testid="wallet-serial">
            {v.serial}
          </dd>
          <dt>Certificates</dt>
          <dd data-testid="wallet-certificates">
            {v.certificates.length ? v.certificates.join(', ') : 'none yet'}
          </dd>
          <dt>PIN tries left</dt>
          <dd>
            {v.pin.remaining} of {v.pin.total}
          </dd>
          <dt>PUK tries left</dt>
          <dd>
            {v.puk.remaining} of {v.puk.total}
          </dd>
        </dl>
        {v.pin.remaining === 0 && (
          <p className="wallet-activity wallet-activity--failed">
            The PIN is blocked. Your help desk can unblock it, or reset this wallet and set it up again.
          </p>
        )}
      </section>

      <section className="wallet-link" aria-labelledby="wallet-link-h">
        <h2 id="wallet-link-h">Link</h2>
        <p role="status" className={`wallet-link-state wallet-link-state--${v.link.kind}`}>
          {linkText(v.link, v)}
        </p>
        <div aria-live="polite">
          <Offer v={v} wallet={wallet} />
          <JobStatus v={v} wallet={wallet} />
          {v.result && !v.result.ok && (
            <p className="wallet-activity wallet-activity--failed" role="alert">
              {v.result.message}
            </p>
          )}
        </div>
        {refusedByNetwork && lastCode.current && (
          <button type="button" className="btn btn-primary" onClick={() => wallet.connect(lastCode.current!)}>
            Try again
          </button>
        )}
        {showPaste && (
          <>
            <p>
              To make this phone your smart card, choose <strong>Issue to my phone</strong> in the user portal
              on your computer and scan its QR code with this phone’s camera.
            </p>
            <form className="wallet-paste" onSubmit={submit}>
              <label htmlFor="wallet-paste">Or paste the link here</label>
              <input
                id="wallet-paste"
                value={pasted}
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => setPasted(e.target.value)}
              />
              <button type="submit" className="btn">
                Connect
              </button>
              {pasteError && (
                <p className="wallet-activity wallet-activity--failed" role="alert">
                  {pasteError}
                </p>
              )}
            </form>
          </>
        )}
      </section>

      <Workstations v={v} wallet={wallet} />

      <section className="wallet-reset" aria-labelledby="wallet-reset-h">
        <h2 id="wallet-reset-h">Reset</h2>
        {confirmReset ? (
          <div role="alertdialog" aria-labelledby="wallet-reset-q">
            <p id="wallet-reset-q">
              Erase the keys, certificates and PIN on this phone? They cannot be recovered. The server is told
              at the next connection and ends what was issued to it.
            </p>
            <div className="wallet-actions">
              <button
                type="button"
                className="btn btn-danger"
                disabled={resetting}
                onClick={() => void reset()}
              >
                {resetting ? 'Erasing…' : 'Erase everything'}
              </button>
              <button type="button" className="btn" onClick={() => setConfirmReset(false)}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <button type="button" className="btn" onClick={() => setConfirmReset(true)}>
            Reset this wallet
          </button>
        )}
      </section>
    </div>
  );
}
