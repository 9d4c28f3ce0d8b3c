import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const webRoot = new URL('.', import.meta.url).pathname;
const repoRoot = new URL('..', import.meta.url).pathname;

/** In the dev server, /wallet is the wallet's page, as the Tessera server serves it. */
const walletPage = (): Plugin => ({
  name: 'tessera-wallet-page',
  configureServer(server) {
    server.middlewares.use((req, _res, next) => {
      if (req.url === '/wallet' || req.url?.startsWith('/wallet?')) req.url = '/wallet.html';
      next();
    });
  },
});

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react(), walletPage()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    sourcemap: true,
    // Two pages: the portals (index.html) and the phone's wallet (wallet.html, its own small bundle).
    rollupOptions: { input: { main: `${webRoot}index.html`, wallet: `${webRoot}wallet.html` } },
  },
  server: {
    // The web app imports pure rules from the server's domain (../src/domain/pin-policy.ts), so
    // the dev server may read files from the whole repository, not only web/.
    fs: { allow: [repoRoot] },
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true }, '/pki': 'http://127.0.0.1:8080' },
  },
});
