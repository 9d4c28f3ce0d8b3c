// Sign in with a username and password; afterwards go back where the visitor was heading.
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useTitle } from '../hooks';
import { DemoBadge } from '../layouts/DemoBadge';
import { useSession } from '../session';

/** Only a path on this site is an acceptable `next` (never //evil.example or https://…). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')
    ? next
    : '/operator';
}

export function LoginPage() {
  useTitle('Sign in');
  const { me, status, signedIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const next = safeNext(params.get('next'));

  if (status === 'ready' && me) return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const info = await action.run(() => api.auth.login(username.trim(), password));
    if (info) {
      signedIn(info);
      navigate(next, { replace: true });
    } else {
      setPassword('');
    }
  };

  return (
    <div className="login-shell">
      <main id="main" className="login-card">
        <div className="login-card__brand">
          <span className="logo" aria-hidden="true">
            ▦
          </span>
          <span>Tessera</span>
          <DemoBadge />
        </div>
        <h1>Sign in</h1>
        <p className="muted">Operators sign in here to manage users, devices and certificates.</p>
        {params.get('expired') && !action.error && (
          <p className="notice" role="status">
            Your session has ended. Sign in again to continue.
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} noValidate={false}>
          <div className="field">
            <label htmlFor="login-username">Username</label>
            <input
              id="login-username"
              name="username"
              autoComplete="username"
              required
              autoFocus
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          <ErrorPanel
            error={action.error}
            title={action.error?.code === 'unauthenticated' ? 'Sign-in failed' : 'Could not sign in'}
          />
          {action.error?.code === 'unauthenticated' && (
            // The server never says whether a delay is in force (that would tell who exists).
            <p className="muted">
              After several wrong tries, sign-in from this computer is delayed, longer with each further try:
              wait a few minutes, or ask an administrator to lift the delay.
            </p>
          )}
          <button type="submit" className="btn btn-primary btn-block" disabled={action.busy}>
            {action.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p className="login-card__portal">
          Picking up or renewing your own card? Go to the <Link to="/portal">user portal</Link>.
        </p>
      </main>
    </div>
  );
}
