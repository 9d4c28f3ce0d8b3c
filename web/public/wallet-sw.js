// The wallet's service worker (scope /wallet): keeps the wallet's shell — its page, the script and
// stylesheet that page names, the manifest and icons — so the installed app opens without the
// network and shows what the card holds. The page is fetched from the network first (a new version
// wins when the server is reachable), the hashed assets from the cache first (their names change
// with their content). The API and the link's WebSocket are never cached or touched.
const CACHE = 'tessera-wallet-shell-v2';
const SHELL = ['/wallet', '/wallet.webmanifest', '/wallet-icon.svg', '/wallet-icon-192.png'];

/** The page's own scripts and stylesheets, read from its HTML (their names carry content hashes). */
async function assetsOf(response) {
  const html = await response.clone().text();
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
}

async function cacheShell() {
  const cache = await caches.open(CACHE);
  const page = await fetch('/wallet', { cache: 'no-store' });
  if (!page.ok) throw new Error(`the wallet page answered ${page.status}`);
  await cache.put('/wallet', page.clone());
  await cache.addAll([...SHELL.slice(1), ...(await assetsOf(page))]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') {
    // Network first: a fresh page (and its assets) when online; the kept shell when not.
    event.respondWith(
      fetch(req)
        .then(async (res) => {
          if (res.ok) {
            const cache = await caches.open(CACHE);
            await cache.put('/wallet', res.clone());
            const assets = await assetsOf(res);
            await Promise.all(
              assets.map(async (a) => (await cache.match(a)) ?? cache.add(a).catch(() => undefined)),
            );
          }
          return res;
        })
        .catch(async () => (await caches.match('/wallet')) ?? Response.error()),
    );
    return;
  }
  event.respondWith(
    caches.match(req).then(
      (hit) =>
        hit ??
        fetch(req).then(async (res) => {
          if (res.ok && (url.pathname.startsWith('/assets/') || SHELL.includes(url.pathname)))
            await (await caches.open(CACHE)).put(req, res.clone());
          return res;
        }),
    ),
  );
});
