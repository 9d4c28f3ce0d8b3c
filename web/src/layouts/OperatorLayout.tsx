// The operator portal's frame: a header with who is signed in, the sections this person may use
// (by permission), and the page. Moving between pages moves focus to the new page's heading.
import { useEffect, useRef } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { useSession } from '../session';
import { DemoBadge } from './DemoBadge';

export const OPERATOR_SECTIONS = [
  { to: '/operator', label: 'Users', permission: 'user.read' },
  { to: '/operator/devices', label: 'Devices', permission: 'device.read' },
  { to: '/operator/requests', label: 'Requests', permission: 'request.read' },
  { to: '/operator/policies', label: 'Device policies', permission: 'policy.read' },
  { to: '/operator/mobile-id-policies', label: 'Mobile ID policies', permission: 'policy.read' },
  { to: '/operator/layouts', label: 'Card layouts', permission: 'policy.read' },
  { to: '/operator/certificates', label: 'Certificates', permission: 'certificate.read' },
  { to: '/operator/ca', label: 'Certificate authorities', permission: 'ca.read' },
  { to: '/operator/settings', label: 'Security settings', permission: 'settings.read' },
  { to: '/operator/security-questions', label: 'Security questions', permission: 'settings.read' },
  { to: '/operator/directory', label: 'Directory (LDAP)', permission: 'directory.manage' },
  { to: '/operator/audit', label: 'Audit log', permission: 'audit.read' },
  { to: '/operator/mail', label: 'Mail outbox', permission: 'mail.read' },
  { to: '/operator/agents', label: 'Agents', permission: 'agent.pair' },
] as const;

export function OperatorLayout() {
  const { me, can, signOut } = useSession();
  const location = useLocation();
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [location.pathname]);

  const sections = OPERATOR_SECTIONS.filter((s) => can(s.permission));
  return (
    <div className="app-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__brand">
          <span className="logo" aria-hidden="true">
            ▦
          </span>
          <span className="topbar__name">Tessera</span>
          <span className="topbar__area">Operator portal</span>
          <DemoBadge />
        </div>
        <div className="topbar__user">
          <span>
            Signed in as <strong>{me?.displayName || me?.username}</strong>
            <span className="muted"> ({me?.username})</span>
          </span>
          <button type="button" className="btn btn-small btn-on-dark" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div className="app-body">
        <nav className="sidenav" aria-label="Operator sections">
          <ul>
            {sections.map((s) => (
              <li key={s.to}>
                {s.to === '/operator' ? (
                  // Users covers /operator and every /operator/users/:id page.
                  <NavLink
                    to={s.to}
                    end
                    className={({ isActive }) =>
                      isActive || location.pathname.startsWith('/operator/users/') ? 'active' : ''
                    }
                    aria-current={location.pathname.startsWith('/operator/users/') ? 'page' : undefined}
                  >
                    {s.label}
                  </NavLink>
                ) : (
                  <NavLink to={s.to}>{s.label}</NavLink>
                )}
              </li>
            ))}
          </ul>
          {sections.length === 0 && (
            <p className="muted sidenav__empty">Your account has no operator permissions.</p>
          )}
        </nav>
        <main id="main" className="content">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
