// Builds everything `tessera` runs from: the server and CLI (tsc → dist/), the SQL migrations
// beside them, and the web app (Vite → dist/web).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
run('npx', ['tsc', '-p', 'tsconfig.build.json']);
cpSync('src/store/migrations', 'dist/store/migrations', { recursive: true });
run('npx', ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn']);
