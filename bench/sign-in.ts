// `npm run bench -- sign-in [pairs]`: the time of a refused operator sign-in for a real name whose
// sign-in is delayed and for an unknown name (decision 0022: the same answer after the same work,
// so that timing tells neither). Sends the two over HTTP in turns (each goes first half the time)
// and prints both medians and the median of the pairwise differences, which must stay under 10 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime } from '../src/runtime.js';
import { systemActor } from '../src/services/context.js';

function login(base: string, username: string, password: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/auth/login`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ username, password }));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

export async function run(args: string[]): Promise<void> {
  const pairs = Number(args[0] ?? 100);
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const config = loadConfig({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' }, {});
  // A clock that stands still: on a loaded machine the pairs can take longer than the delay the
  // failures earned, and a delay that runs out lets the right password in (as it should).
  const frozen = new Date();
  const rt = await openRuntime(config, { inMemory: true, clock: { now: () => new Date(frozen) } });
  const app = await buildApp(rt);
  try {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const { password } = await rt.services.users.createWithPassword(systemActor('bench'), {
      username: 'kim.known',
      displayName: 'Kim',
    });
    for (let i = 0; i < 6; i++) await login(address, 'kim.known', `wrong-${i}`);
    for (let i = 0; i < 6; i++) await login(address, 'nobody.known', `wrong-${i}`);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const k = () => login(address, 'kim.known', password);
      const u = () => login(address, 'nobody.known', password);
      const [a, b] = i % 2 === 0 ? [await k(), await u()] : [await u(), await k()].reverse();
      if (a!.status !== 401 || b!.status !== 401) throw new Error('a delayed sign-in was let through');
      known.push(a!.ms);
      unknown.push(b!.ms);
    }
    const gap = median(known.map((k, i) => k - unknown[i]!));
    console.log(`sign-in refusals, ${pairs} pairs, ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}`);
    console.table({
      'delayed real name': { 'median ms': +median(known).toFixed(1) },
      'unknown name': { 'median ms': +median(unknown).toFixed(1) },
      'pairwise difference': { 'median ms': +gap.toFixed(1) },
    });
    if (Math.abs(gap) >= 10) process.exitCode = 1;
  } finally {
    await app.close();
    await rt.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
