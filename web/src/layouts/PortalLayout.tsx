// The user portal's frame: deliberately plainer than the operator portal — one column, large
// type, one task at a time — because people reach it once or twice a year, card in hand.
import { Outlet } from 'react-router-dom';
import { HelpDeskDetailsFolded } from '../components/ErrorPanel';
import { DemoBadge } from './DemoBadge';

export function PortalLayout() {
  return (
    <div className="portal-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="portal-header">
        <span className="logo" aria-hidden="true">
          ▦
        </span>
        <span className="portal-header__name">Tessera</span>
        <span className="portal-header__area">User portal</span>
        <DemoBadge />
      </header>
      <main id="main" className="portal-main">
        {/* A cardholder reads what happened; codes and correlation ids are for the help desk. */}
        <HelpDeskDetailsFolded.Provider value={true}>
          <Outlet />
        </HelpDeskDetailsFolded.Provider>
      </main>
      <footer className="portal-footer">
        <p>Your card, your credentials. Need help? Contact your help desk.</p>
      </footer>
    </div>
  );
}
