// Builds everything `tessera` runs from: the server and CLI (tsc → dist/), the SQL migrations
// beside them, the web app (Vite → dist/web), and the agent's single executable the server offers
// for download (dist/downloads, scripts/build-agent.mjs).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
run('npx', ['tsc', '-p', 'tsconfig.build.json']);
cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });
run('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn']);
run(process.execPath, ['scripts/build-agent.mjs']);
