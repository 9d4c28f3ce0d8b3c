// Remote issuance (reference 003, mobile smart cards only): the help desk gives the person a one-time
// link for their new phone — shown here as a QR code to scan (the person is at the desk, or reads
// the link over a call) or e-mailed to them. The person's wallet then offers the new credentials;
// this page follows the request until the enrolment completes it. A new link makes the earlier ones
// stop working.
import { useEffect, useState } from 'react';
import { api } from '../api';
import { CopyButton } from '../components/CopyButton';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import type { WalletLink } from '../types';

interface Props {
  requestId: string;
  /** "Bob Baker" */
  personName: string;
  /** Called every few seconds while a link is out, so the page sees the enrolment complete. */
  onWaiting: () => void;
}

const WAIT_POLL_MS = 3000;
const svgSrc = (svg: string) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export function PhoneEnrolment({ requestId, personName, onWaiting }: Props) {
  const [shown, setShown] = useState<WalletLink | null>(null);
  const [sent, setSent] = useState<{ sentTo: string; expiresAt: string } | null>(null);
  const act = useAction();
  const out = shown !== null || sent !== null;

  useEffect(() => {
    if (!out) return;
    const timer = window.setInterval(onWaiting, WAIT_POLL_MS);
    return () => window.clearInterval(timer);
  }, [out, onWaiting]);

  const show = async () => {
    const l = await act.run(() => api.requests.showWalletLink(requestId));
    if (l) {
      setSent(null);
      setShown(l);
    }
  };
  const mail = async () => {
    const m = await act.run(() => api.requests.mailWalletLink(requestId));
    if (m) {
      setShown(null);
      setSent(m);
    }
  };

  return (
    <div className="phone-link">
      <p>
        {personName} sets up the new credentials on their phone with a one-time link: show its code here for
        them to scan, or e-mail it. A new link makes the earlier ones stop working.
      </p>
      {shown && (
        <>
          <img
            className="phone-link__qr"
            src={svgSrc(shown.qrSvg)}
            alt={`QR code of the enrolment link for ${personName}’s phone`}
            width={220}
            height={220}
          />
          <p className="phone-link__url">
            <a className="mono" href={shown.url} target="_blank" rel="noreferrer" aria-label="Enrolment link">
              {shown.url}
            </a>{' '}
            <CopyButton text={shown.url} label="Copy link" />
          </p>
          <p className="muted small" role="status">
            It works once, until {time(shown.expiresAt)}. Waiting for {personName}’s phone…
          </p>
        </>
      )}
      {sent && (
        <p className="notice" role="status">
          The link was e-mailed to {sent.sentTo}. It works once, until {time(sent.expiresAt)}. Waiting for{' '}
          {personName}’s phone…
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="btn btn-primary" disabled={act.busy} onClick={() => void show()}>
          {shown ? 'New code' : 'Show code for the phone'}
        </button>
        <button type="button" className="btn" disabled={act.busy} onClick={() => void mail()}>
          E-mail the link to {personName}
        </button>
      </div>
      <ErrorPanel error={act.error} title="No link for the phone" />
    </div>
  );
}
