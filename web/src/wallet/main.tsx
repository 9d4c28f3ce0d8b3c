// The wallet's entry (wallet.html, served at /wallet): its own small bundle, not the portals'. It
// opens the wallet, takes the one-time code from the link's fragment (and removes it from the
// address bar and history, so a reload never presents a used code), connects once, and registers
// the service worker that lets the installed app start without the network.
//
// One wallet, one page: two pages each running the card would each keep their own PIN counter and
// each take over the link from the other. So the page that holds the wallet holds a Web Lock for its
// whole life; a second page (a link opened in a new tab while the installed app is open) hands its
// code to the first over a BroadcastChannel and says where to go on.
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
const LOCK = 'tessera-wallet';
const channel = 'BroadcastChannel' in window ? new BroadcastChannel(LOCK) : null;

function run(): Promise<void> {
  return Wallet.open().then(
    (wallet) => {
      // With a code: link with it. Without: a wallet linked before reconnects with its token.
      wallet.connect(code ?? undefined);
      const takeOver = (next: string | null) => {
        if (next) wallet.connect(next);
      };
      // A link opened while the wallet is already open changes only the fragment: no new page load.
      window.addEventListener('hashchange', () => takeOver(takeCode()));
      // A link opened in another page of this wallet: that page hands its code over.
      if (channel)
        channel.onmessage = (e: MessageEvent<{ type?: string; code?: string }>) => {
          if (e.data?.type === 'code' && typeof e.data.code === 'string')
            takeOver(codeFrom(`#link=${e.data.code}`));
        };
      // Not in StrictMode: its doubled effects would open the link twice with one single-use code.
      createRoot(root!).render(<WalletApp wallet={wallet} code={code} />);
    },
    (e: unknown) => {
      root!.textContent = `This browser cannot keep a wallet: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
}

function openElsewhere(): void {
  if (code) channel?.postMessage({ type: 'code', code });
  createRoot(root!).render(
    <div className="wallet">
      <header className="wallet-header">
        <h1>Tessera wallet</h1>
      </header>
      <section>
        <p role="status">
          {code
            ? 'Your wallet is open in another tab or window: the link was handed to it. Continue there.'
            : 'Your wallet is open in another tab or window. Continue there, or close it and reload this page.'}
        </p>
      </section>
    </div>,
  );
}

if ('locks' in navigator)
  void navigator.locks.request(LOCK, { ifAvailable: true }, async (lock) => {
    if (!lock) return openElsewhere();
    await run();
    // Held while this page lives: closing it frees the wallet for another page.
    await new Promise<never>(() => undefined);
  });
else void run();
