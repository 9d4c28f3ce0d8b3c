// Issue initial password: a one-time password a person uses to sign in to the user portal and
// issue their own card. The server keeps only its hash, so this dialog is the one place it is ever
// shown; it lives in component state only and is gone when the dialog closes (nothing is cached,
// logged or put in the URL). Issuing again supersedes the earlier password. When the server sends
// mail and the person has an address it is e-mailed instead, unless the operator chooses to show
// it (the person is at the desk, or the mail server is down: a failed e-mail changes nothing).
import { useState } from 'react';
import { api } from '../../api';
import { Dialog, DialogActions } from '../../components/Dialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { ShownOnceValue } from '../../components/CopyButton';
import { formatDateTime } from '../../format';
import { useAction } from '../../hooks';
import { useSession } from '../../session';
import type { IssuedInitialPassword, User } from '../../types';

export function InitialPasswordDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const { meta } = useSession();
  const [issued, setIssued] = useState<IssuedInitialPassword | null>(null);
  const [showHere, setShowHere] = useState(false);
  const canEmail = !!meta?.mail && !!user.email;
  const act = useAction();
  // The address people reach the server by (from the server's configuration), else this browser's.
  const portalUrl = `${(meta?.externalUrl || window.location.origin).replace(/\/+$/, '')}/portal`;

  const issue = async () => {
    const r = await act.run(() =>
      api.users.issueInitialPassword(user.id, canEmail && showHere ? 'displayed' : 'auto'),
    );
    if (r) setIssued(r);
  };

  return (
    <Dialog
      open
      title={`Initial password for ${user.displayName}`}
      onClose={onClose}
      footer={
        issued === null ? (
          <DialogActions
            onCancel={onClose}
            label="Issue initial password"
            busyLabel="Issuing…"
            busy={act.busy}
            onAction={() => void issue()}
          />
        ) : (
          <button type="button" className="btn btn-primary" onClick={onClose}>
            {issued.delivery === 'email' ? 'Done' : 'I have handed it over — close'}
          </button>
        )
      }
    >
      {issued === null ? (
        <>
          <p>
            An initial password lets <strong>{user.displayName}</strong> (
            <span className="mono">{user.username}</span>) sign in to the user portal to set themselves up:
            their security questions, then the card bound to them and its PIN.
          </p>
          <ul className="notes">
            <li>
              It works until they have finished setting up (answers set or a card issued), and only for a
              limited time (the expiry is shown after issuing).
            </li>
            <li>Issuing a new one cancels any initial password issued to this person before.</li>
            <li>
              Too many wrong tries make it unusable; then issue another one. Every issue is recorded in the
              audit log (never the password).
            </li>
            <li>
              {canEmail
                ? `It is e-mailed to ${user.email}, unless you choose to show it here.`
                : 'It is shown here, once: nobody can display it again afterwards.'}
            </li>
          </ul>
          {canEmail && (
            <div className="check">
              <input
                type="checkbox"
                id="ip-show-here"
                checked={showHere}
                onChange={(e) => setShowHere(e.target.checked)}
                aria-describedby="ip-show-here-hint"
              />
              <label htmlFor="ip-show-here">Show it here instead of e-mailing it</label>
              <span className="check__hint" id="ip-show-here-hint">
                For a person at the desk, or when the e-mail could not be sent.
              </span>
            </div>
          )}
        </>
      ) : (
        <>
          {issued.delivery === 'email' || issued.password === undefined ? (
            <p className="notice" role="note">
              The initial password is being e-mailed to{' '}
              <strong>{issued.email ?? user.email ?? 'the person’s address'}</strong> (the mail outbox sends
              it, and tries again while the mail server cannot be reached). It is not shown here.
            </p>
          ) : (
            <>
              <p className="warning" role="note">
                <strong>The initial password is shown once.</strong> After this dialog closes nobody can
                display it again. Hand it to {user.displayName} securely.
              </p>
              <ShownOnceValue label="Initial password" value={issued.password} wide />
            </>
          )}
          <p>
            Valid until <strong>{formatDateTime(issued.expiresAt)}</strong>, for one sign-in.
          </p>
          <h3>What {user.displayName} does next</h3>
          <ol className="notes">
            <li>
              Open <span className="mono">{portalUrl}</span> on a computer with the Tessera agent and insert
              the card bound to them.
            </li>
            <li>
              Choose <strong>Start</strong>, enter the username <span className="mono">{user.username}</span>{' '}
              and this initial password.
            </li>
            <li>Follow the portal: it personalizes the card, and they set their own PIN.</li>
          </ol>
        </>
      )}
      <ErrorPanel error={act.error} title="The initial password was not issued" />
    </Dialog>
  );
}
