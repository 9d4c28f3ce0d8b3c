// `npm run bench -- cluster [--n 10,100,1000] [--warm-up W] [--route other|same|half] [--profile]` (issue #20): N simulated agents — each an
// AgentClient over a real WebSocket with one emulated blank PIV card in memory — connected
// alternately to two `tessera serve` processes (dist/, so `npm run build` first) on one PostgreSQL
// schema. Every card is issued at once (ECC P-256 demo policy, 3 keys) through the API of the
// other server than its agent's, so each job is queued for the agent's server (`--route same`:
// through its agent's server; `--route half`: alternately, as a round-robin load balancer). Reports cards
// personalized per second, the two servers' CPU per card (/proc utime+stime; the cards' own key
// generation runs here, in the agents' process, not in the servers), and the gap between a card's
// answer and the server's next command (p50/p99: the server's turnaround plus the socket, per APDU
// round trip). Before each row, W more agents (default 100) issue their cards unmeasured on the same
// two servers: new processes run their first issuances in V8's baseline tiers and pay for the
// optimizing compiler, which a server that has been up does not (`--warm-up 0`: a cold pair's
// figures). --profile runs the servers with --cpu-prof and prints where their CPU went (whole run,
// start-up included). `npm run bench -- agents` measures one server the same way, with a profile of
// the issuance window only.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AgentClient } from '../src/agent/agent-client.js';
import { pairWithCode } from '../src/agent/identity.js';
import { newCardState } from '../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../src/cards/transport/memory.js';
import type { CardConnection, ReaderSet } from '../src/cards/transport/types.js';
import { DEMO_POLICIES } from '../src/services/bootstrap-service.js';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAIN = 'dist/cli/main.js';
const TICK_MS = 1000 / 100; // /proc/<pid>/stat counts in clock ticks of 10 ms (USER_HZ 100)

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

class Api {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}
  async login(username: string, password: string): Promise<void> {
    const r = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!r.ok) throw new Error(`login: ${r.status}`);
    this.cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
    this.csrf = ((await r.json()) as { csrfToken: string }).csrfToken;
  }
  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        cookie: this.cookie,
        ...(method === 'GET' ? {} : { 'x-csrf-token': this.csrf, 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
  }
}

/** The emulated cards, timing the gap between each answer and the next command to that card. */
class TimedReaders implements ReaderSet {
  readonly gaps: number[] = [];
  constructor(readonly inner: MemoryReaderSet) {}
  list = () => this.inner.list();
  watch = (l: Parameters<ReaderSet['watch']>[0]) => this.inner.watch(l);
  close = () => this.inner.close();
  async connect(reader: string): Promise<CardConnection> {
    const conn = await this.inner.connect(reader);
    let answered = 0;
    return {
      ...conn,
      reader: conn.reader,
      transmit: async (apdu, opts) => {
        if (answered) this.gaps.push(performance.now() - answered);
        const res = await conn.transmit(apdu, opts);
        answered = performance.now();
        return res;
      },
      close: async () => {
        answered = 0;
        await conn.close?.();
      },
    };
  }
}

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  output: () => string;
}

function serve(name: string, env: Record<string, string>, profileDir: string | null): Promise<Server> {
  const args = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, MAIN, 'serve'] : [MAIN, 'serve'];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${name} did not start:\n${text}`)), 180_000);
    const seen = (d: Buffer) => {
      text += d.toString();
      if (text.includes('Tessera is running')) {
        clearTimeout(timer);
        resolve({ name, url: `http://127.0.0.1:${env.PORT}`, child, output: () => text });
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.on('exit', (code) => reject(new Error(`server ${name} exited ${code}:\n${text}`)));
  });
}

/**
 * Which server a card's start goes to: `other` — the one its agent is not connected to (every job
 * queued for the agent's server, the worst case); `same` — its agent's (as a load balancer that
 * knew); `half` — alternately, as a round-robin load balancer does on average.
 */
type Route = 'other' | 'same' | 'half';
const via = (route: Route, i: number): number =>
  route === 'other' ? 1 : route === 'same' ? 0 : Math.floor(i / 2) % 2;

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function round(
  n: number,
  warmUp: number,
  route: Route,
  profile: boolean,
): Promise<Record<string, string | number>> {
  const schema = `bench_cluster_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const dbUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-cluster-'));
  const profileDir = profile ? join(dir, 'profiles') : null;
  const masterKey = randomBytes(32).toString('base64');
  const servers: Server[] = [];
  const agents: AgentClient[] = [];
  const readers: TimedReaders[] = [];
  const ids: string[] = [];
  try {
    const ports = [await freePort(), await freePort()];
    for (const [i, name] of ['A', 'B'].entries())
      servers.push(
        await serve(
          name,
          {
            DATABASE_URL: dbUrl,
            TESSERA_MASTER_KEY: masterKey,
            TESSERA_DATA_DIR: join(dir, name),
            HOST: '127.0.0.1',
            PORT: String(ports[i]),
            TESSERA_EXTERNAL_URL: `http://127.0.0.1:${ports[0]}`,
            TESSERA_INSTANCE_NAME: name,
            LOG_LEVEL: 'warn',
          },
          profileDir,
        ),
      );
    const password = /with password:\s+(\S+)/.exec(servers[0]!.output())![1]!;
    const apis = await Promise.all(
      servers.map(async (s) => {
        const a = new Api(s.url);
        await a.login('admin', password);
        return a;
      }),
    );
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    const policy = await apis[0]!.call<{ id: string }>('POST', '/api/policies', ecc);
    const user = await apis[0]!.call<{ id: string }>('POST', '/api/users', {
      username: 'bench.person',
      displayName: 'Bench Person',
      roles: ['user'],
    });
    // Pair and connect the agents: even ones to A, odd ones to B. The first `warmUp` of them issue
    // their cards unmeasured (see run()); the next n are the measured row.
    const total = warmUp + n;
    for (let i = 0; i < total; i++) {
      const home = servers[i % 2]!;
      const code = await apis[i % 2]!.call<{ code: string }>('POST', '/api/agents/pairing-codes', {});
      const id = await pairWithCode(home.url, code.body.code, { name: `bench-${i}`, hostname: 'bench' });
      const set = new MemoryReaderSet();
      set.addReader('R');
      set.insert('R', new VirtualPivCard(newCardState({ serial: 60_000_000 + i })));
      const timed = new TimedReaders(set);
      readers.push(timed);
      const agent = new AgentClient({ server: home.url, token: id.token, readers: timed, hostname: 'bench' });
      agent.start();
      agents.push(agent);
      ids.push(id.agentId);
    }
    await Promise.all(agents.map((a) => a.waitConnected()));
    // Every server sees every reader with its card.
    for (const api of apis)
      for (;;) {
        const r = await api.call<{ cardPresent: boolean }[]>('GET', '/api/agents/readers');
        if (r.body.filter((x) => x.cardPresent).length >= total) break;
        await new Promise((r2) => setTimeout(r2, 200));
      }
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    /** Issues the cards of agents [from, to) at once, each through the server its agent is not
     *  connected to (32 calls in flight); then waits for every job's end. Returns the refusals and
     *  the jobs succeeded so far. */
    const issueAll = async (from: number, to: number) => {
      let next = from;
      let refused = 0;
      await Promise.all(
        Array.from({ length: Math.min(32, to - from) }, async () => {
          while (next < to) {
            const i = next++;
            const r = await apis[(i + via(route, i)) % 2]!.call('POST', '/api/issuance', {
              userId: user.body.id,
              agentId: ids[i],
              reader: 'R',
              action: 'issue',
              policyId: policy.body.id,
              pin: '482913',
              pinConfirmation: '482913',
            });
            if (r.status !== 202) refused++;
          }
        }),
      );
      for (;;) {
        const counts = (
          await db.query<{ status: string; n: number }>(
            'SELECT status, count(*)::int AS n FROM issuance_jobs GROUP BY status',
          )
        ).rows;
        if (!counts.some((c) => c.status === 'running'))
          return { refused, succeeded: counts.find((c) => c.status === 'succeeded')?.n ?? 0 };
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const warm = await issueAll(0, warmUp);
    const cpu0 = servers.map((s) => cpuMs(s.child.pid!));
    const t0 = performance.now();
    const measured = await issueAll(warmUp, total);
    const refused = measured.refused;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = servers.map((s, i) => cpuMs(s.child.pid!) - cpu0[i]!);
    await db.end();
    const ok = measured.succeeded - warm.succeeded;
    const gaps = readers.slice(warmUp).flatMap((r) => r.gaps);
    return {
      agents: n,
      'cards issued': ok,
      'failed/refused': n - ok,
      'cards/s': +(ok / seconds).toFixed(2),
      'server CPU ms/card': +((cpu[0]! + cpu[1]!) / Math.max(1, ok)).toFixed(1),
      'CPU A / B (s)': `${(cpu[0]! / 1000).toFixed(1)} / ${(cpu[1]! / 1000).toFixed(1)}`,
      'APDU gap p50 ms': +pct(gaps, 50).toFixed(2),
      'APDU gap p99 ms': +pct(gaps, 99).toFixed(2),
      APDUs: gaps.length + ok,
      ...(refused ? { refused } : {}),
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)));
    }
    if (profileDir && existsSync(profileDir)) printProfile(profileDir);
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The functions where the servers spent their CPU (self time), from V8's .cpuprofile files. */
function printProfile(profileDir: string): void {
  const self = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(profileDir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(p.nodes.map((x) => [x.id, x.callFrame]));
    p.samples.forEach((id, i) => {
      const cf = byId.get(id)!;
      if (cf.functionName === '(idle)' || cf.functionName === '(program)') return;
      const nm = cf.url.lastIndexOf('/node_modules/');
      const where =
        nm >= 0
          ? cf.url.slice(nm + 1)
          : cf.url.includes('/dist/')
            ? cf.url.slice(cf.url.lastIndexOf('/dist/') + 1)
            : cf.url;
      const key = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
      const us = p.timeDeltas[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    });
  }
  // By where the code lives: a package, a directory of Tessera, Node's internals, native work.
  const area = new Map<string, number>();
  for (const [k, us] of self) {
    const where = k.slice(k.indexOf(' ') + 1);
    const parts = where.split('/');
    const a = where.startsWith('node_modules/')
      ? parts[1]!.startsWith('@')
        ? `${parts[1]}/${parts[2]}`
        : parts[1]!
      : where.startsWith('dist/')
        ? `tessera ${parts[1]}`
        : where.startsWith('node:')
          ? `node ${where.slice(5).split(':')[0]!.split('/').slice(1, 3).join('/')}`
          : k.slice(0, k.lastIndexOf(' ')) || k;
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const show = (m: Map<string, number>, top: number) => {
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  };
  console.log(
    `\nServer CPU by area (self time, both servers, whole run, ${(total / 1e6).toFixed(1)} s sampled):`,
  );
  show(area, 20);
  console.log('\nServer CPU by function:');
  show(self, 25);
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const i = args.indexOf('--n');
  const ns = (i >= 0 ? args[i + 1]! : '10,100,1000').split(',').map(Number);
  const w = args.indexOf('--warm-up');
  const warmUp = Number(w >= 0 ? args[w + 1] : '100');
  if (!Number.isInteger(warmUp) || warmUp < 0 || warmUp > 1000)
    throw new Error('--warm-up takes 0 to 1000 cards issued before the measured ones');
  const r = args.indexOf('--route');
  const route = (r >= 0 ? args[r + 1] : 'other') as Route;
  if (!['other', 'same', 'half'].includes(route))
    throw new Error('--route is other (every card through the server its agent is not on), same, or half');
  const profile = args.includes('--profile');
  const rows: Record<string, string | number>[] = [];
  for (const n of ns) rows.push({ route, ...(await round(n, warmUp, route, profile)) });
  console.log(
    `\nbench cluster — two tessera serve on PostgreSQL, ECC P-256 (3 keys), load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.table(rows);
}
