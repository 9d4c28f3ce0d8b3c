// How every failure is shown: what went wrong in words, the server's list of problems when it
// gave one, and — in small print — the error code and correlation id with a Copy button, so a
// person can hand exactly this to support. The issuance failure dialog reuses it.
import { createContext, useContext, useId, useState, type ReactNode } from 'react';
import type { ApiError } from '../api';
import { copyText } from './copy';

/**
 * Whether the code, correlation id and Copy are folded under "Details for your help desk": in the
 * user portal (a cardholder reads the sentence; the help desk needs the code), not for operators.
 */
export const HelpDeskDetailsFolded = createContext(false);

interface Props {
  error: ApiError | null | undefined;
  /** A short heading, e.g. "The policy was not saved". */
  title?: string;
  /** Extra controls (Retry, Cancel…) shown under the message. */
  actions?: ReactNode;
  onDismiss?: () => void;
}

interface Issue {
  field?: string;
  message: string;
}

/**
 * The server lists validation problems as details.problems (strings, or {field, message}) or as
 * details.issues ({field, message}, from request-schema checks).
 */
export function issuesOf(error: ApiError): Issue[] {
  const d = error.details;
  if (!d) return [];
  const out: Issue[] = [];
  for (const list of [d.problems, d.issues]) {
    if (!Array.isArray(list)) continue;
    for (const item of list as unknown[]) {
      if (typeof item === 'string') out.push({ message: item });
      else if (item && typeof item === 'object' && typeof (item as Issue).message === 'string') {
        const { field, message } = item as Issue;
        out.push({ field: typeof field === 'string' ? prettyField(field) : undefined, message });
      }
    }
  }
  return out;
}

/** "body/pinPolicy/minLength" → "pinPolicy.minLength". */
const prettyField = (field: string) => field.replace(/^body\/?/, '').replace(/\//g, '.');

/** The text the Copy button puts on the clipboard: everything support needs, nothing secret. */
export function errorReport(error: ApiError, title?: string): string {
  const lines = [
    title,
    error.message,
    `code: ${error.code}`,
    error.status ? `status: ${error.status}` : undefined,
    `correlation id: ${error.correlationId || '(none)'}`,
    error.details ? `details: ${JSON.stringify(error.details)}` : undefined,
    `page: ${window.location.pathname}`,
    `time: ${new Date().toISOString()}`,
  ];
  return lines.filter(Boolean).join('\n');
}

export function ErrorPanel({ error, title, actions, onDismiss }: Props) {
  const [copied, setCopied] = useState<'' | 'ok' | 'failed'>('');
  const headingId = useId();
  const folded = useContext(HelpDeskDetailsFolded);
  if (!error) return null;
  const issues = issuesOf(error);
  // The server's message often just joins the listed problems: then show one or the other, not both.
  const first = issues[0]?.message;
  const echoes = first !== undefined && error.message.includes(first);
  const showMessage = !(echoes && issues.length > 1);
  const showIssues = issues.length > 1 || (issues.length === 1 && !echoes);

  const copy = async () => {
    setCopied((await copyText(errorReport(error, title))) ? 'ok' : 'failed');
    window.setTimeout(() => setCopied(''), 4000);
  };

  const meta = (
    <p className="error-panel__meta">
      <span>
        Code <code>{error.code}</code>
      </span>
      {error.correlationId && (
        <span>
          Correlation ID <code>{error.correlationId}</code>
        </span>
      )}
      <button type="button" className="btn btn-ghost btn-small" onClick={() => void copy()}>
        Copy error details
      </button>
      <span className="copy-status" aria-live="polite">
        {copied === 'ok' ? 'Copied' : copied === 'failed' ? 'Could not copy: select the text instead' : ''}
      </span>
    </p>
  );

  return (
    <div className="error-panel" role="alert" aria-labelledby={headingId}>
      <div className="error-panel__head">
        <strong id={headingId}>{title ?? 'Something went wrong'}</strong>
        {onDismiss && (
          <button type="button" className="btn btn-ghost btn-small" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
      {showMessage && <p className="error-panel__message">{error.message}</p>}
      {showIssues && (
        <ul className="error-panel__issues">
          {issues.map((i, n) => (
            <li key={n}>
              {i.field && <code>{i.field}</code>} {i.message}
            </li>
          ))}
        </ul>
      )}
      {actions && <div className="error-panel__actions">{actions}</div>}
      {folded ? (
        <details className="help-desk-details">
          <summary>Details for your help desk</summary>
          {meta}
        </details>
      ) : (
        meta
      )}
    </div>
  );
}
