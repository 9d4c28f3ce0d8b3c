// The wallet's entry (wallet.html, served at /wallet): its own small bundle, not the portals'. It
// opens the wallet, takes the one-time code from the link's fragment (and removes it from the
// address bar and history, so a reload never presents a used code), connects once, and registers
// the service worker that lets the installed app start without the network.
import { createRoot } from 'react-dom/client';
import { Wallet } from './wallet';
import { WalletApp, codeFrom } from './WalletApp';
import '../styles.css';
import './wallet.css';

const root = document.getElementById('root');
if (!root) throw new Error('wallet.html lacks #root');

if ('serviceWorker' in navigator)
  navigator.serviceWorker.register('/wallet-sw.js', { scope: '/wallet' }).catch(() => {
    // No service worker (private mode, an old browser): the wallet works, only not offline.
  });

/** The code in the address bar's fragment, taken out of it (and so out of history). */
function takeCode(): string | null {
  const code = codeFrom(location.hash);
  if (location.hash) history.replaceState(null, '', location.pathname);
  return code;
}
const code = takeCode();

Wallet.open().then(
  (wallet) => {
    // With a code: link with it. Without: a wallet linked before reconnects with its token.
    wallet.connect(code ?? undefined);
    // A link opened while the wallet is already open changes only the fragment: no new page load.
    window.addEventListener('hashchange', () => {
      const next = takeCode();
      if (next) wallet.connect(next);
    });
    // Not in StrictMode: its doubled effects would open the link twice with one single-use code.
    createRoot(root).render(<WalletApp wallet={wallet} code={code} />);
  },
  (e: unknown) => {
    root.textContent = `This browser cannot keep a wallet: ${e instanceof Error ? e.message : String(e)}`;
  },
);
