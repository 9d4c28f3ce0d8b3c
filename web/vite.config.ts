import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const webRoot = new URL('.', import.meta.url).pathname;
const repoRoot = new URL('..', import.meta.url).pathname;

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: true },
  server: {
    // The web app imports pure rules from the server's domain (../src/domain/pin-policy.ts), so
    // the dev server may read files from the whole repository, not only web/.
    fs: { allow: [repoRoot] },
    proxy: { '/api': 'http://127.0.0.1:8080', '/pki': 'http://127.0.0.1:8080' },
  },
});
