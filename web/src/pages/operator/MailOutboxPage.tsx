// The mail outbox for administrators (mail.read): every e-mail Tessera queued — initial passwords,
// mobile ID links and results — with its state and the mail server's last answer, never its
// content. A failed message can be sent again (mail.resend).
import { useState } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, StatusMessage } from '../../components/Status';
import { formatDateTime, humanize } from '../../format';
import { useAction, useLoad } from '../../hooks';
import { useSession } from '../../session';
import type { Mail } from '../../types';

const FILTERS = ['', 'queued', 'sending', 'sent', 'failed'] as const;

export function MailOutboxPage() {
  const { can } = useSession();
  const [status, setStatus] = useState<(typeof FILTERS)[number]>('');
  const list = useLoad(() => api.mail.list(status ? { status, limit: 100 } : { limit: 100 }), [status]);
  const resend = useAction();
  const [said, setSaid] = useState('');
  const onResend = async (m: Mail) => {
    const done = await resend.run(() => api.mail.resend(m.id));
    if (done) {
      setSaid(`The message to ${m.recipient} is queued again.`);
      list.reload();
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Mail outbox</h1>
      <p className="muted">
        Every e-mail is queued here in the same step as what causes it, then sent. While the mail server
        cannot be reached a message waits and is tried again, less and less often; a message the server
        refuses fails with its answer. The content is never shown (it may carry a password).
      </p>
      {list.data && !list.data.configured && (
        <p className="warning" role="note">
          No mail server is configured (TESSERA_SMTP_URL): messages wait here until one is.
        </p>
      )}
      <ErrorPanel
        error={list.error}
        title="Could not load the outbox"
        actions={<RetryButton onClick={list.reload} />}
      />
      <ErrorPanel error={resend.error} title="The message was not queued again" onDismiss={resend.clear} />
      <StatusMessage>{said}</StatusMessage>
      <div className="toolbar">
        <label htmlFor="mail-status">State</label>{' '}
        <select
          id="mail-status"
          value={status}
          onChange={(e) => setStatus(e.target.value as (typeof FILTERS)[number])}
        >
          {FILTERS.map((f) => (
            <option key={f} value={f}>
              {f ? `${humanize(f)} (${list.data?.counts[f] ?? '…'})` : `All (${list.data?.total ?? '…'})`}
            </option>
          ))}
        </select>{' '}
        <button type="button" className="btn btn-small" onClick={list.reload}>
          Refresh
        </button>
      </div>
      {list.loading && !list.data && <Loading what="Loading the outbox" />}
      {list.data &&
        (list.data.items.length === 0 ? (
          <p>No message{status ? ` is ${status}` : ' yet'}.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Messages">
              <thead>
                <tr>
                  <th scope="col">Queued</th>
                  <th scope="col">To</th>
                  <th scope="col">Subject</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Mail server’s answer</th>
                  {can('mail.resend') && <th scope="col">Action</th>}
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((m) => (
                  <tr key={m.id} data-mail-id={m.id}>
                    <td>{formatDateTime(m.createdAt)}</td>
                    <td className="mono">{m.recipient}</td>
                    <td>{m.subject}</td>
                    <td>
                      <span className={`badge badge-${m.status}`}>{humanize(m.status)}</span>
                      {m.status === 'sent' && m.sentAt && (
                        <div className="muted">{formatDateTime(m.sentAt)}</div>
                      )}
                      {m.status === 'queued' && m.attempts > 0 && (
                        <div className="muted">next try {formatDateTime(m.nextAttemptAt)}</div>
                      )}
                    </td>
                    <td>
                      {m.attempts} of {m.maxAttempts}
                    </td>
                    <td>{m.lastError ?? '—'}</td>
                    {can('mail.resend') && (
                      <td>
                        {m.status === 'failed' && (
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={resend.busy}
                            aria-label={`Send again to ${m.recipient}`}
                            onClick={() => void onResend(m)}
                          >
                            Send again
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </>
  );
}
