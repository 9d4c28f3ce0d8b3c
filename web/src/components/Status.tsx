// A polite live region: confirmations ("Saved") and loading notes are announced, not just shown.
import type { ReactNode } from 'react';

export function StatusMessage({ children }: { children: ReactNode }) {
  return (
    <p className="status-message" role="status" aria-live="polite">
      {children}
    </p>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function PageHeader({
  title,
  actions,
  intro,
}: {
  title: string;
  actions?: ReactNode;
  intro?: ReactNode;
}) {
  return (
    <div className="page-header">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        {intro && <p className="page-header__intro">{intro}</p>}
      </div>
      {actions && <div className="page-header__actions">{actions}</div>}
    </div>
  );
}
