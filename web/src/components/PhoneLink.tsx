// "Issue to my phone" (user portal) and "Mobile smart card" (operator's Add Device): a one-time link
// for a phone's wallet, as a QR code to scan and as a link to open, with its expiry. Once the phone
// has connected, its reader ("<person>'s phone") appears among the card readers and the issuance
// goes on as for a card; this panel then says so instead of showing the code again.
import { useEffect, useState } from 'react';
import { useAction } from '../hooks';
import type { WalletLink } from '../types';
import { CopyButton } from './CopyButton';
import { ErrorPanel } from './ErrorPanel';

interface Props {
  /** Makes the link (POST /api/wallet/links). */
  make: () => Promise<WalletLink>;
  /** Whose phone, in the text: "your phone", "Bob Baker's phone". */
  whose: string;
  buttonLabel: string;
  /** The reader names now connected: the phone's appearing ends the QR code's job. */
  readers: string[];
  /** Called every 2 s while waiting for the phone, for a page that does not watch its readers. */
  onWaiting?: () => void;
  /** Called once when the phone's reader appears (a dialog may choose it). */
  onConnected?: (reader: string) => void;
}

const WAIT_POLL_MS = 2000;

/** The server's SVG as an image: an <img> runs no script, and img-src allows data: URLs. */
const svgSrc = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;

export function PhoneLink({ make, whose, buttonLabel, readers, onWaiting, onConnected }: Props) {
  const [link, setLink] = useState<WalletLink | null>(null);
  const act = useAction();
  const connected = link !== null && readers.includes(link.readerName);
  const waiting = link !== null && !connected;

  useEffect(() => {
    if (!waiting || !onWaiting) return;
    const timer = window.setInterval(onWaiting, WAIT_POLL_MS);
    return () => window.clearInterval(timer);
  }, [waiting, onWaiting]);
  useEffect(() => {
    if (connected) onConnected?.(link.readerName);
  }, [connected]);

  const create = async () => {
    const l = await act.run(make);
    if (l) setLink(l);
  };

  if (connected)
    return (
      <p className="notice" role="status">
        {link.readerName} is connected. Choose it above to set it up.
      </p>
    );

  return (
    <div className="phone-link">
      {link ? (
        <>
          <p>
            Scan this code with {whose}’s camera, or open the link on it. It works once, until{' '}
            {new Date(link.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.
          </p>
          <img
            className="phone-link__qr"
            src={svgSrc(link.qrSvg)}
            alt={`QR code of the link for ${whose}`}
            width={220}
            height={220}
          />
          <p className="phone-link__url">
            <a className="mono" href={link.url} target="_blank" rel="noreferrer" aria-label="Wallet link">
              {link.url}
            </a>{' '}
            <CopyButton text={link.url} label="Copy link" />
          </p>
          <p className="muted small" role="status">
            Waiting for {whose} to connect as “{link.readerName}”…
          </p>
          <button type="button" className="btn btn-small" disabled={act.busy} onClick={() => void create()}>
            New code
          </button>
        </>
      ) : (
        <button type="button" className="btn" disabled={act.busy} onClick={() => void create()}>
          {act.busy ? 'Making a code…' : buttonLabel}
        </button>
      )}
      <ErrorPanel error={act.error} title="No link for the phone" />
    </div>
  );
}
