// `npm run bench -- memory [--wait S]`: idle memory of the built server (issue 18). Runs
// `tessera serve` on PostgreSQL (a fresh database) and `tessera start` (PGlite, demo organisation,
// demo agents) from dist/ as a user would — so `npm run build` first — and reads each process's
// resident set (/proc/<pid>/status: VmRSS, of which anonymous and file-backed) once the banner is
// printed and again after --wait seconds (default 30) at rest, with V8's heap figures beside it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAIN = 'dist/cli/main.js';

// Preloaded into the measured process: writes V8's own figures to a file when asked (SIGUSR2).
const PROBE = `
const fs = require('node:fs');
process.on('SIGUSR2', () => fs.writeFileSync(process.env.BENCH_MEM_OUT, JSON.stringify(process.memoryUsage())));
`;

const MB = (kb: number) => Math.round(kb / 1024);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function procStatus(pid: number): { rss: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rss: MB(kb('VmRSS')), anon: MB(kb('RssAnon')), file: MB(kb('RssFile')) };
}

async function v8Figures(pid: number, out: string): Promise<{ heapUsed: number; heapTotal: number }> {
  rmSync(out, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
  const m = JSON.parse(readFileSync(out, 'utf8')) as { heapUsed: number; heapTotal: number };
  return { heapUsed: Math.round(m.heapUsed / 2 ** 20), heapTotal: Math.round(m.heapTotal / 2 ** 20) };
}

/** Starts `tessera <command>`, waits for its banner, measures now and after `waitS` seconds. */
async function measure(command: string, env: Record<string, string>, waitS: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-mem-'));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, PROBE);
  const out = join(dir, 'mem.json');
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--require', probe, MAIN, command, '--port', String(port), '--data-dir', join(dir, 'data')],
    {
      env: { ...process.env, ...env, BENCH_MEM_OUT: out, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${text}`)), 180_000);
      const seen = (d: Buffer) => {
        text += d.toString();
        if (text.includes('Tessera is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.on('exit', (code) => reject(new Error(`${command} exited ${code}:\n${text}`)));
    });
    const started = { ...procStatus(child.pid!), ...(await v8Figures(child.pid!, out)) };
    await new Promise((r) => setTimeout(r, waitS * 1000));
    const rested = { ...procStatus(child.pid!), ...(await v8Figures(child.pid!, out)) };
    return { started, rested };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const i = args.indexOf('--wait');
  const waitS = i >= 0 ? Number(args[i + 1]) : 30;
  const load = loadavg()[0]!.toFixed(1);
  const db = `bench_mem_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const rows: Record<string, Record<string, number | string>> = {};
  const row = (name: string, m: Awaited<ReturnType<typeof measure>>, goal: number) => {
    for (const [when, f] of [
      ['after start', m.started],
      [`after ${waitS} s at rest`, m.rested],
    ] as const)
      rows[`${name}, ${when}`] = {
        'RSS MB': f.rss,
        'anonymous MB': f.anon,
        'file-backed MB': f.file,
        'V8 heap used MB': f.heapUsed,
        'V8 heap total MB': f.heapTotal,
        'goal MB': goal,
      };
  };
  try {
    const url = new URL(PG_URL);
    url.pathname = `/${db}`;
    row('tessera serve (PostgreSQL)', await measure('serve', { DATABASE_URL: url.toString() }, waitS), 150);
    row('tessera start (PGlite, demo)', await measure('start', {}, waitS), 250);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
  console.log(`Idle memory of ${MAIN}, Node ${process.version}, ${cpus().length} CPUs, load average ${load}`);
  console.table(rows);
}
