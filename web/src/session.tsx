// Who is signed in (Me, with permissions), the server's meta (demo or not), and the guard that
// sends a visitor without a session to the sign-in page.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { api, setCsrfToken, setUnauthenticatedHandler } from './api';
import type { Me, Meta, SessionInfo } from './types';

interface Session {
  status: 'loading' | 'ready';
  me: Me | null;
  meta: Meta | null;
  can: (permission: string) => boolean;
  signedIn: (info: SessionInfo) => void;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<'loading' | 'ready'>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [meta, setMeta] = useState<Meta | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    let live = true;
    void Promise.allSettled([api.meta(), api.auth.session()]).then(([m, s]) => {
      if (!live) return;
      if (m.status === 'fulfilled') setMeta(m.value);
      if (s.status === 'fulfilled') {
        setCsrfToken(s.value.csrfToken);
        setMe(s.value.user);
      }
      setStatus('ready');
    });
    return () => {
      live = false;
    };
  }, []);

  // A 401 on any later call means the session ended (expired, signed out elsewhere).
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setMe(null);
      setCsrfToken(null);
      const here = window.location.pathname + window.location.search;
      if (window.location.pathname !== '/login')
        navigate(`/login?next=${encodeURIComponent(here)}&expired=1`, { replace: true });
    });
    return () => setUnauthenticatedHandler(null);
  }, [navigate]);

  const signedIn = useCallback((info: SessionInfo) => {
    setCsrfToken(info.csrfToken);
    setMe(info.user);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.auth.logout();
    } finally {
      setCsrfToken(null);
      setMe(null);
      navigate('/login', { replace: true });
    }
  }, [navigate]);

  const value = useMemo<Session>(
    () => ({
      status,
      me,
      meta,
      can: (p) => !!me?.permissions.includes(p),
      signedIn,
      signOut,
    }),
    [status, me, meta, signedIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** Renders its children for a signed-in user; anyone else goes to /login?next=<here>. */
export function RequireSession({ children }: { children: ReactNode }) {
  const { status, me } = useSession();
  const location = useLocation();
  if (status === 'loading')
    return (
      <p className="page-loading" role="status">
        Loading…
      </p>
    );
  if (!me) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}
