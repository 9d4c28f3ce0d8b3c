// `npm run bench -- limits [rounds]`: bounded work per request (issue 17). A server runs in this
// process; a second process sends the 3.5 MB sign-in body (1,200,000 empty answers) to
// POST /api/portal/auth/security-questions and, just after it, GET /api/meta, and times both.
// Targets: the refusal (413) in < 200 ms, /api/meta meanwhile in < 100 ms (medians).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime } from '../src/runtime.js';

// The sender: plain node:http (no keep-alive pool to share), prints one JSON line per round.
const SENDER = `
const { request } = require('node:http');
const [base, rounds] = [process.argv[1], Number(process.argv[2])];
const huge = JSON.stringify({ username: 'alice', answers: Array.from({ length: 1_200_000 }, () => ({})) });
const call = (method, path, body) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const req = request(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
  });
  req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve({ status: 413, ms: performance.now() - t0 }) : reject(e)));
  req.end(body);
});
(async () => {
  await call('GET', '/api/meta');
  for (let i = 0; i < rounds; i++) {
    const [refused, meta] = await Promise.all([
      call('POST', '/api/portal/auth/security-questions', huge),
      new Promise((r) => setImmediate(r)).then(() => call('GET', '/api/meta')),
    ]);
    console.log(JSON.stringify({ refused, meta }));
  }
})();
`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

export async function run(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 20);
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const config = loadConfig({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' }, {});
  const rt = await openRuntime(config, { inMemory: true });
  const app = await buildApp(rt);
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', SENDER, base, String(rounds)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`sender exited ${code}`))));
    });
    const results = out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { refused: { status: number; ms: number }; meta: { status: number; ms: number } },
      );
    if (results.some((r) => r.refused.status !== 413 || r.meta.status !== 200))
      throw new Error(`unexpected statuses: ${JSON.stringify(results)}`);
    const refusal = median(results.map((r) => r.refused.ms));
    const meta = median(results.map((r) => r.meta.ms));
    console.log(
      `3.5 MB sign-in body, ${rounds} rounds, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`,
    );
    console.table({
      '3.5 MB POST refused (413)': { 'median ms': +refusal.toFixed(1), 'goal ms': 200 },
      'GET /api/meta meanwhile': { 'median ms': +meta.toFixed(1), 'goal ms': 100 },
    });
    if (refusal >= 200 || meta >= 100) process.exitCode = 1;
  } finally {
    await app.close();
    await rt.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
