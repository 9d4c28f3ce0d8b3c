// `npm run bench -- agents [--agents 10,100] [--cards K] [--policy ecc|rsa] [--in-flight M]
//   [--warm-up W] [--postgres] [--servers 1|2] [--route same|half|other] [--profile]`: card issuance
// at scale (issue 20). Starts `tessera serve` in a process of its own (PGlite in a fresh data
// directory, or a fresh PostgreSQL schema with --postgres, dropped after) — or, with --servers 2, two
// of them on one PostgreSQL schema, agents paired alternately to each, every card started through
// the server --route picks (default half: a round-robin load balancer; same: its agent's server;
// other: the one its agent is not on, so the job is queued and claimed across) and CPU and I/O
// counted on both — then for each N drives N simulated agents from this process: each is the real
// agent client (src/agent/agent-client.ts) over a real WebSocket, speaking the real agent protocol,
// with K emulated PIV cards in in-memory readers. The agents are paired with one-time codes and
// the cards issued through the HTTP API, as an operator's browser would. It reports:
//   - cards personalized per second (first POST /api/issuance to the last job's end);
//   - server CPU per card: the server process's user + system time (/proc/<pid>/stat, every thread)
//     over that window, divided by the cards (the system part shown beside it). The cards' key generation runs here, on the agent
//     side, so it is not in the figure; the server's heartbeats to idle agents are;
//   - one APDU round trip, as the card sees it: from the card's answer to the next command reaching
//     it (agent → WebSocket → server → WebSocket → agent), p50 and p99, the card's own time
//     excluded (shown apart). A round trip that spans server work between two commands (a
//     certificate signed, a transaction) counts whole: that is what the card waits.
// With --profile, the V8 CPU profiler (what `node --cpu-prof` runs) samples the server during the
// measured window only (started and stopped through a preload on SIGUSR2, so start-up and
// migrations stay out), and the top functions and packages by CPU time are printed; the profile
// is kept for Chrome DevTools. Profiling slows the server: take CPU figures from a run without it.
// Before the rows, W cards (default 100) are issued unmeasured: a new process runs its first
// issuances in V8's baseline tiers and pays for the optimizing compiler (its threads count in the
// process's CPU), ~4 ms per card more over the first hundred cards; a server that has been up a
// while does not. `--warm-up 2` shows a cold server's figures. The same N given twice is two rows.
// Figures are printed, never asserted, with the load average beside them.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AgentClient } from '../src/agent/agent-client.js';
import { pairWithCode } from '../src/agent/identity.js';
import { newCardState } from '../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../src/cards/transport/memory.js';
import type { CardConnection, ReaderSet, TransmitOptions } from '../src/cards/transport/types.js';
import { redactCommand } from '../src/cards/trace.js';
import { DEMO_POLICIES } from '../src/services/bootstrap-service.js';
import { summarizeProfile, type CpuProfile } from './cpu-profile.js';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLK_TCK = 100; // Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const PIN = '482913';

// Preloaded into the server: the first SIGUSR2 opens the measured window, the next closes it. With
// BENCH_PROFILE_OUT set the V8 CPU profiler samples the window and writes the profile there. In every
// case the window's I/O is counted — SQL statements sent by node-postgres (by their first word:
// BEGIN, COMMIT, SELECT, INSERT, UPDATE, pg_notify…), WebSocket frames sent by \`ws\` (by the frame's
// "type") — and written to BENCH_IO_OUT; then BENCH_IO_OUT.done, so the bench knows it is complete.
const PRELOAD = `
const inspector = require('node:inspector');
const fs = require('node:fs');
const { createRequire } = require('node:module');
const out = process.env.BENCH_PROFILE_OUT;
const ioOut = process.env.BENCH_IO_OUT;
const fromRoot = createRequire(process.env.BENCH_ROOT + '/package.json');
let counting = false;
let io = {};
let texts = {};
const count = (k) => { if (counting) io[k] = (io[k] || 0) + 1; };
const pg = fromRoot('pg');
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const text = typeof config === 'string' ? config : config && config.text;
  if (typeof text === 'string') {
    const m = /pg_notify/i.test(text) ? 'NOTIFY' : (/^\\s*(\\w+)/.exec(text) || [, '?'])[1].toUpperCase();
    count('sql ' + m);
    count('sql (all)');
    if (counting) texts[text] = (texts[text] || 0) + 1;
  }
  return query.call(this, config, ...rest);
};
const ws = fromRoot('ws');
const send = ws.prototype.send;
ws.prototype.send = function (data, ...rest) {
  let t = 'binary';
  if (typeof data === 'string') t = (/"type":"([a-z-]+)"/.exec(data) || [, '?'])[1];
  count('ws ' + t);
  count('ws (all)');
  return send.call(this, data, ...rest);
};
let session;
let open = false;
process.on('SIGUSR2', () => {
  if (!open) {
    open = true;
    io = {};
    texts = {};
    counting = true;
    // The bench asks for a profile of this window by leaving a file beside it.
    if (!fs.existsSync(out + '.wanted')) return fs.writeFileSync(ioOut + '.started', '');
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 500 }, () =>
        session.post('Profiler.start', () => fs.writeFileSync(ioOut + '.started', ''))));
    return;
  }
  open = false;
  counting = false;
  fs.writeFileSync(ioOut, JSON.stringify({ io, texts }));
  if (!session) return fs.writeFileSync(ioOut + '.done', '');
  const s = session;
  session = undefined;
  s.post('Profiler.stop', (err, r) => {
    if (!err) fs.writeFileSync(out, JSON.stringify(r.profile));
    fs.writeFileSync(ioOut + '.done', err ? String(err) : '');
    s.disconnect();
  });
});
`;

/**
 * With two servers, which one a card's start (and the bench's reads of its job) goes to: `same` —
 * the server its agent is connected to (a load balancer that knew); `other` — the one it is not
 * (every job queued for the agent's server and claimed there, the worst case); `half` — alternately,
 * as a round-robin load balancer does on average.
 */
type Route = 'same' | 'half' | 'other';
const ROUTES: Route[] = ['same', 'half', 'other'];
const ROUTE_WORDS: Record<Route, string> = {
  same: "its agent's server",
  half: 'either server in turn',
  other: 'the server that does not hold its agent',
};

interface Options {
  agents: number[];
  cards: number;
  policy: 'ecc' | 'rsa';
  inFlight: number;
  warmUp: number;
  postgres: boolean;
  profile: boolean;
  servers: number;
  route: Route;
}

function parse(args: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const agents = (value('--agents') ?? '10,100').split(',').map((s) => Number(s.replace(/_/g, '')));
  if (agents.some((n) => !Number.isInteger(n) || n < 1 || n > 5000))
    throw new Error('--agents takes counts from 1 to 5000, comma-separated (e.g. 10,100,1000)');
  const cards = Number(value('--cards') ?? '1');
  if (!Number.isInteger(cards) || cards < 1 || cards > 16) throw new Error('--cards takes 1 to 16 per agent');
  const policy = value('--policy') ?? 'ecc';
  if (policy !== 'ecc' && policy !== 'rsa')
    throw new Error('--policy is ecc (P-256, 3 keys) or rsa (RSA-2048, 4 keys)');
  const warmUp = Number(value('--warm-up') ?? '100');
  if (!Number.isInteger(warmUp) || warmUp < 1 || warmUp > 1000)
    throw new Error('--warm-up takes 1 to 1000 cards issued before the measured rows');
  const inFlight = Number(value('--in-flight') ?? '100');
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new Error('--in-flight takes a positive count');
  const servers = Number(value('--servers') ?? '1');
  if (servers !== 1 && servers !== 2) throw new Error('--servers takes 1 or 2');
  // Two servers share one database: PGlite is one process's own.
  if (servers === 2 && !args.includes('--postgres')) throw new Error('--servers 2 needs --postgres');
  const route = (value('--route') ?? 'half') as Route;
  if (!ROUTES.includes(route))
    throw new Error("--route is same (a card started on its agent's server), half (round-robin) or other");
  return {
    servers,
    route,
    agents,
    cards,
    policy,
    inFlight,
    warmUp,
    postgres: args.includes('--postgres'),
    profile: args.includes('--profile'),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** The process's CPU time so far (all its threads), in milliseconds: user, and system (the kernel's). */
function cpuMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), counted from field 3: utime is 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / CLK_TCK, system: (Number(f[12]) * 1000) / CLK_TCK };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load1 = () => loadavg()[0]!.toFixed(1);

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * How fast this machine signs (Node's OpenSSL, on this process's CPU), in ms per ECDSA signature:
 * CPU figures from machines of different speeds compare through it (each card costs three
 * signatures of the issuing CA, P-384 by default).
 */
function signMs(namedCurve: 'P-384' | 'P-256'): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve });
  const data = Buffer.alloc(256, 1);
  for (let i = 0; i < 50; i++) sign('sha384', data, privateKey);
  const n = namedCurve === 'P-384' ? 300 : 3000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sign('sha384', data, privateKey);
  return (performance.now() - t0) / n;
}

/** The operator's side of the HTTP API: a signed-in session with its CSRF token. */
class Api {
  private cookie = '';
  private csrf = '';
  constructor(readonly base: string) {}

  async login(username: string, password: string): Promise<void> {
    const res = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!res.ok) throw new Error(`sign-in as ${username}: HTTP ${res.status} ${await res.text()}`);
    this.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    this.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { cookie: this.cookie };
    if (method !== 'GET') headers['x-csrf-token'] = this.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.json<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** What the card side saw: one entry per APDU, and a signal each time the server lets a card go. */
class ApduClock {
  roundTrips: number[] = [];
  /** The round trips by the command that ended them (what the server sent next). */
  byCommand = new Map<string, number[]>();
  cardMs: number[] = [];
  private closedWaiters = new Map<string, Array<() => void>>();

  /** Resolves the next time the server closes its connection to the card in `reader`. */
  nextClose(reader: string): Promise<void> {
    return new Promise((r) => {
      const list = this.closedWaiters.get(reader) ?? [];
      list.push(r);
      this.closedWaiters.set(reader, list);
    });
  }

  closed(reader: string): void {
    const list = this.closedWaiters.get(reader) ?? [];
    this.closedWaiters.delete(reader);
    for (const r of list) r();
  }

  reset(): void {
    this.roundTrips = [];
    this.byCommand = new Map();
    this.cardMs = [];
  }
}

/** A reader set that times every exchange with its cards; reader names are unique across agents. */
class TimedReaderSet implements ReaderSet {
  constructor(
    private readonly inner: ReaderSet,
    private readonly clock: ApduClock,
  ) {}
  list() {
    return this.inner.list();
  }
  watch(listener: Parameters<ReaderSet['watch']>[0]) {
    return this.inner.watch(listener);
  }
  async connect(reader: string): Promise<CardConnection> {
    const conn = await this.inner.connect(reader);
    const clock = this.clock;
    let lastAnswer: number | undefined;
    return {
      reader: conn.reader,
      atr: conn.atr,
      async transmit(apdu: Uint8Array, opts?: TransmitOptions) {
        const t0 = performance.now();
        if (lastAnswer !== undefined) {
          clock.roundTrips.push(t0 - lastAnswer);
          const name = redactCommand(apdu).name;
          const list = clock.byCommand.get(name) ?? [];
          list.push(t0 - lastAnswer);
          clock.byCommand.set(name, list);
        }
        const res = await conn.transmit(apdu, opts);
        lastAnswer = performance.now();
        clock.cardMs.push(lastAnswer - t0);
        return res;
      },
      close: async () => {
        await conn.close?.();
        clock.closed(reader);
      },
    };
  }
  close() {
    return this.inner.close();
  }
}

interface Server {
  name: string;
  url: string;
  pid: number;
  /** The first administrator's password, printed by the server that made the database; '' after. */
  adminPassword: string;
  child: ChildProcess;
  profileOut: string;
  /** Where the preload writes the measured window's I/O counts. */
  ioOut: string;
  stop(): Promise<void>;
}

/**
 * `tessera serve` from the sources (tsx), in its own process, on PGlite or a PostgreSQL schema.
 * Servers sharing a schema share its master key; each has its own directory, name and port.
 */
async function startServer(
  parent: string,
  databaseUrl: string | undefined,
  name: string,
  masterKey: string,
  first: boolean,
): Promise<Server> {
  const dir = join(parent, name);
  mkdirSync(dir);
  const port = await freePort();
  const preload = join(dir, 'profiler.cjs');
  writeFileSync(preload, PRELOAD);
  const profileOut = join(dir, 'server.cpuprofile');
  const ioOut = join(dir, 'server-io.json');
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    ['--require', preload, '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        TESSERA_ALLOW_EMBEDDED: '1',
        TESSERA_MASTER_KEY: masterKey,
        TESSERA_DATA_DIR: join(dir, 'data'),
        HOST: '127.0.0.1',
        PORT: String(port),
        TESSERA_EXTERNAL_URL: url,
        TESSERA_INSTANCE_NAME: name,
        LOG_LEVEL: 'warn',
        BENCH_PROFILE_OUT: profileOut,
        BENCH_IO_OUT: ioOut,
        BENCH_ROOT: ROOT,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  const adminPassword = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tessera serve ${name} did not start:\n${text}`)),
      300_000,
    );
    const seen = (d: Buffer) => {
      text += d.toString();
      // The server that makes the database prints the administrator's password (maybe after
      // the line that it runs); the next one finds the administrator made.
      const pw = /with password:\s+(\S+)/.exec(text);
      if (text.includes('Tessera is running') && (pw || !first)) {
        clearTimeout(timer);
        resolve(pw?.[1] ?? '');
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`tessera serve ${name} exited ${code}:\n${text}`)));
  });
  // Keep draining its output (warnings), so a full pipe never stalls the server.
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[server ${name}] ${d.toString()}`));
  return {
    name,
    url,
    pid: child.pid!,
    adminPassword,
    child,
    profileOut,
    ioOut,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

async function waitFor(file: string, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (existsSync(file)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Io = { io: Record<string, number>; texts: Record<string, number> };

/** Opens a window on each server: its preload counts I/O (and, if asked, profiles) until closed. */
async function openWindow(servers: Server[], profile: boolean): Promise<void> {
  for (const s of servers) {
    for (const f of [s.ioOut, `${s.ioOut}.started`, `${s.ioOut}.done`]) rmSync(f, { force: true });
    // The preload profiles a window when a file asks it to, beside where the profile goes.
    if (profile) writeFileSync(`${s.profileOut}.wanted`, '');
    else rmSync(`${s.profileOut}.wanted`, { force: true });
    process.kill(s.pid, 'SIGUSR2');
  }
  await Promise.all(servers.map((s) => waitFor(`${s.ioOut}.started`, `server ${s.name}'s window to open`)));
}

/** Closes the windows and adds up what the servers counted in them. */
async function closeWindow(servers: Server[]): Promise<Io> {
  for (const s of servers) process.kill(s.pid, 'SIGUSR2');
  const sum: Io = { io: {}, texts: {} };
  for (const s of servers) {
    await waitFor(`${s.ioOut}.done`, `server ${s.name}'s window to close`);
    const one = JSON.parse(readFileSync(s.ioOut, 'utf8')) as Io;
    for (const part of ['io', 'texts'] as const)
      for (const [k, v] of Object.entries(one[part])) sum[part][k] = (sum[part][k] ?? 0) + v;
  }
  return sum;
}

const cpuOf = (servers: Server[]) => servers.map((s) => cpuMs(s.pid));

interface Round {
  agents: number;
  cards: number;
  succeeded: number;
  failed: number;
  firstError: string | undefined;
  seconds: number;
  serverCpuMs: number;
  /** Of serverCpuMs, the kernel's: mostly socket writes (SQL statements, frames). */
  serverSystemMs: number;
  /** serverCpuMs by server. */
  cpuByServer: number[];
  apdus: number;
  roundTrips: number[];
  byCommand: Map<string, number[]>;
  cardMs: number[];
  loadBefore: string;
  loadAfter: string;
  /** The servers' SQL statements and WebSocket frames sent in the window, by kind. */
  io: Record<string, number>;
  /** The same SQL statements by their text. */
  texts: Record<string, number>;
  /** The bench's own job reads (GET /api/issuance/jobs/{id}) in the window, and SQL statements each costs. */
  jobReads: number;
  statementsPerJobRead: number;
}

type Job = { id: string; status: string; error: { code: string; message: string } | null };

let nextSerial = 60_000_000;

/**
 * Pairs `n` agents with `cards` emulated cards each (agent i to server i mod S), issues every card,
 * and measures. A card's start and the reads of its job go to the server `route` picks.
 */
async function round(
  servers: Server[],
  apis: Api[],
  n: number,
  cards: number,
  policyId: string,
  inFlight: number,
  tag: string,
  route: Route,
  profile: boolean,
): Promise<Round> {
  const clock = new ApduClock();
  const homeOf = (agent: number) => agent % servers.length;
  // Pairing and people first, outside the measured window.
  const identities = await pool(
    Array.from({ length: n }, (_, i) => i),
    8,
    async (i) => {
      const { code } = await apis[homeOf(i)]!.ok<{ code: string }>('POST', '/api/agents/pairing-codes', {});
      return pairWithCode(servers[homeOf(i)]!.url, code, {
        name: `Bench ${tag} agent ${i}`,
        hostname: `bench-${i}`,
      });
    },
  );
  const people = await pool(
    Array.from({ length: n * cards }, (_, i) => i),
    8,
    async (i) => {
      const u = await apis[0]!.ok<{ id: string }>('POST', '/api/users', {
        username: `bench.${tag}.${i}`,
        displayName: `Bench ${tag} ${i}`,
        roles: ['user'],
      });
      return u.id;
    },
  );
  const agents: AgentClient[] = [];
  const targets: { agentId: string; reader: string; userId: string; api: Api }[] = [];
  identities.forEach((id, a) => {
    const readers = new MemoryReaderSet();
    for (let c = 0; c < cards; c++) {
      const reader = `Bench ${tag} reader ${a}.${c}`;
      readers.addReader(reader);
      readers.insert(reader, new VirtualPivCard(newCardState({ serial: nextSerial++ })));
      const i = targets.length;
      const away = route === 'same' ? 0 : route === 'other' ? 1 : Math.floor(i / 2) % 2;
      targets.push({
        agentId: id.agentId,
        reader,
        userId: people[a * cards + c]!,
        api: apis[(homeOf(a) + away) % servers.length]!,
      });
    }
    agents.push(
      new AgentClient({
        server: servers[homeOf(a)]!.url,
        token: id.token,
        readers: new TimedReaderSet(readers, clock),
        hostname: `bench-${a}`,
      }),
    );
  });
  try {
    for (const a of agents) a.start();
    await Promise.all(agents.map((a) => a.waitConnected(120_000)));
    // Each agent reports its readers right after the welcome; let those snapshots land (on every server).
    await sleep(1000 + n);
    clock.reset();

    const loadBefore = load1();
    await openWindow(servers, profile);
    const cpu0 = cpuOf(servers);
    const t0 = performance.now();
    let jobReads = 0;
    const jobIds: string[] = [];
    const results = await pool(targets, inFlight, async (t) => {
      let started: { status: number; body: { job: Job } } | undefined;
      // A reader the server has not heard of yet is refused: try again shortly.
      for (let attempt = 0; attempt < 20; attempt++) {
        started = await t.api.json<{ job: Job }>('POST', '/api/issuance', {
          userId: t.userId,
          agentId: t.agentId,
          reader: t.reader,
          action: 'issue',
          policyId,
          pin: PIN,
          pinConfirmation: PIN,
        });
        if (started.status === 202) break;
        await sleep(250);
      }
      if (started!.status !== 202) return { status: 'refused', error: JSON.stringify(started!.body) };
      const jobId = started!.body.job.id;
      jobIds.push(jobId);
      // The job's end, without polling every job: look when the server lets go of the card (the
      // run closes it once the job's end is committed; a read every 30 s in case it never does).
      for (;;) {
        await Promise.race([clock.nextClose(t.reader), sleep(30_000)]);
        const j = await t.api.ok<Job>('GET', `/api/issuance/jobs/${jobId}`);
        jobReads += 1;
        if (j.status !== 'running')
          return { status: j.status, error: j.error ? `${j.error.code}: ${j.error.message}` : undefined };
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuOf(servers);
    const cpuByServer = cpu1.map((c, i) => c.user + c.system - cpu0[i]!.user - cpu0[i]!.system);
    const serverSystemMs = cpu1.reduce((sum, c, i) => sum + c.system - cpu0[i]!.system, 0);
    const { io, texts } = await closeWindow(servers);
    const succeeded = results.filter((r) => r.status === 'succeeded').length;
    // What one of the bench's job reads costs a server, counted in a window of its own (so the
    // statements the issuance itself sends can be told from the bench's polling).
    const sampleReads = 40;
    await openWindow([servers[0]!], false);
    for (let i = 0; i < sampleReads; i++)
      await apis[0]!.ok<Job>('GET', `/api/issuance/jobs/${jobIds[i % jobIds.length]}`);
    const readIo = (await closeWindow([servers[0]!])).io;
    return {
      jobReads,
      statementsPerJobRead: (readIo['sql (all)'] ?? 0) / sampleReads,
      agents: n,
      cards: targets.length,
      succeeded,
      failed: targets.length - succeeded,
      firstError: results.find((r) => r.status !== 'succeeded')?.error,
      seconds,
      serverCpuMs: cpuByServer.reduce((a, b) => a + b, 0),
      serverSystemMs,
      cpuByServer,
      apdus: clock.cardMs.length,
      roundTrips: clock.roundTrips,
      byCommand: clock.byCommand,
      cardMs: clock.cardMs,
      loadBefore,
      loadAfter: load1(),
      io,
      texts,
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parse(args);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-agents-'));
  const schema = `bench_agents_${randomBytes(4).toString('hex')}`;
  const sql = o.postgres ? new pg.Client({ connectionString: PG_URL }) : undefined;
  const servers: Server[] = [];
  const db = o.postgres ? 'PostgreSQL' : 'PGlite';
  const policyName = o.policy === 'ecc' ? 'PIV ECC P-256 (demo)' : 'PIV RSA-2048 (demo)';
  const rows: Record<string, Record<string, number | string>> = {};
  let profileText = '';
  // Ctrl-C (or a closed pipe) still stops the servers and drops the schema.
  const interrupted = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (sql) await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupted());
  process.once('SIGTERM', () => void interrupted());
  process.stdout.on('error', () => void interrupted());
  let lastByCommand: { n: number; rows: Record<string, Record<string, number>> } | undefined;
  let lastIo:
    | {
        n: number;
        cards: number;
        rows: Record<string, Record<string, number>>;
        statements: Record<string, number>;
        split: Record<string, number>;
      }
    | undefined;
  try {
    let databaseUrl: string | undefined;
    if (sql) {
      await sql.connect();
      await sql.query(`CREATE SCHEMA ${schema}`);
      databaseUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    }
    console.log(`Starting ${o.servers} tessera serve on ${db}… (load average ${load1()})`);
    const masterKey = randomBytes(32).toString('base64');
    // One after the other: the first migrates the schema and makes the administrator.
    for (const name of ['A', 'B'].slice(0, o.servers))
      servers.push(await startServer(dir, databaseUrl, name, masterKey, !servers.length));
    const apis = await Promise.all(
      servers.map(async (s) => {
        const a = new Api(s.url);
        await a.login('admin', servers[0]!.adminPassword);
        return a;
      }),
    );
    const api = apis[0]!;
    // `tessera serve` seeds no demo: the demo's policy, made through the API.
    const policy = DEMO_POLICIES.find((p) => p.name === policyName)!;
    const { id: policyId } = await api.ok<{ id: string }>('POST', '/api/policies', policy);
    // Warm-up, not measured: the first issuance builds the CA hierarchy and loads lazy modules, and
    // the first hundred or so are what V8's optimizing compiler learns from (see the header).
    console.log(`Warming up: ${o.warmUp} card(s) issued unmeasured… (load average ${load1()})`);
    const warmAgents = Math.min(o.warmUp, 50);
    const warmCards = Math.ceil(o.warmUp / warmAgents);
    await round(servers, apis, warmAgents, warmCards, policyId, warmAgents, 'warm', o.route, false);
    for (const [i, n] of o.agents.entries()) {
      const last = i === o.agents.length - 1;
      console.log(
        `${n} agents × ${o.cards} card(s), ${o.policy.toUpperCase()} policy… (load average ${load1()})`,
      );
      const profile = o.profile && last;
      const r = await round(servers, apis, n, o.cards, policyId, o.inFlight, `n${n}r${i}`, o.route, profile);
      if (r.firstError) console.log(`  ${r.failed} card(s) not issued; the first: ${r.firstError}`);
      const key = `${db}, ${n} agents${profile ? ' (profiled)' : ''}`;
      const repeat = Object.keys(rows).filter((k) => k === key || k.startsWith(`${key}, run `)).length;
      rows[repeat ? `${key}, run ${repeat + 1}` : key] = {
        cards: r.cards,
        failed: r.failed,
        seconds: round1(r.seconds),
        'cards/s': round1(r.succeeded / r.seconds),
        'server CPU ms/card': round1(r.serverCpuMs / Math.max(1, r.succeeded)),
        ...(servers.length > 1
          ? {
              'of it A / B': r.cpuByServer.map((ms) => round1(ms / Math.max(1, r.succeeded))).join(' / '),
            }
          : {}),
        'of it system': round1(r.serverSystemMs / Math.max(1, r.succeeded)),
        'APDUs/card': Math.round(r.apdus / Math.max(1, r.cards)),
        'APDU round trip p50 ms': round1(percentile(r.roundTrips, 50)),
        'APDU round trip p99 ms': round1(percentile(r.roundTrips, 99)),
        'card p99 ms': round1(percentile(r.cardMs, 99)),
        load: `${r.loadBefore} → ${r.loadAfter}`,
      };
      const byCommand: Record<string, Record<string, number>> = {};
      for (const [name, xs] of [...r.byCommand].sort((a, b) => percentile(b[1], 99) - percentile(a[1], 99)))
        byCommand[name] = {
          'per card': round1(xs.length / Math.max(1, r.cards)),
          'p50 ms': round1(percentile(xs, 50)),
          'p99 ms': round1(percentile(xs, 99)),
          'total s': round1(xs.reduce((a, b) => a + b, 0) / 1000),
        };
      lastByCommand = { n, rows: byCommand };
      const perCard = (k: string) => round1((r.io[k] ?? 0) / Math.max(1, r.cards));
      const polling = (r.jobReads * r.statementsPerJobRead) / Math.max(1, r.cards);
      lastIo = {
        n,
        cards: r.cards,
        statements: r.texts,
        split: {
          'SQL statements per card, all': perCard('sql (all)'),
          "the bench's job reads (GET /api/issuance/jobs/{id}) per card": round1(
            r.jobReads / Math.max(1, r.cards),
          ),
          'SQL statements per job read': round1(r.statementsPerJobRead),
          "SQL statements per card of the bench's polling": round1(polling),
          'SQL statements per card of the issuance itself': round1(perCard('sql (all)') - polling),
        },
        rows: Object.fromEntries(
          Object.keys(r.io)
            .sort()
            .map((k) => [k, { 'per card': perCard(k), total: r.io[k]! }]),
        ),
      };
      const profiled = servers.filter((s) => profile && existsSync(s.profileOut));
      if (profiled.length) {
        const ps = profiled.map((s) => JSON.parse(readFileSync(s.profileOut, 'utf8')) as CpuProfile);
        profileText = summarizeProfile(ps, {
          root: ROOT,
          cpuPerCard: r.serverCpuMs / Math.max(1, r.succeeded),
        });
        const kept = profiled.map((s, k) => {
          const file = join(tmpdir(), `tessera-agents-${db.toLowerCase()}-${n}-${s.name}.cpuprofile`);
          writeFileSync(file, JSON.stringify(ps[k]));
          return file;
        });
        profileText += `\nProfile kept in ${kept.join(', ')} (open it in Chrome DevTools, Performance tab).`;
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    if (sql) {
      await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await sql.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `Agents issuing cards: ${
      o.servers > 1
        ? `${o.servers} tessera serve on one ${db} schema (own processes; agents alternately on A and B, ` +
          `each card started through ${ROUTE_WORDS[o.route]}; CPU is both servers' together)`
        : `1 tessera serve on ${db} (own process)`
    }, ${o.cards} emulated card(s) per agent, ` +
      `${policyName}, at most ${o.inFlight} issuances in flight; Node ${process.version}, ${cpus().length} CPUs, ` +
      `load average ${load1()} (the agents and their cards run in this process, on the same CPUs)`,
  );
  console.table(rows);
  console.log(
    `This machine signs with ECDSA in ${signMs('P-384').toFixed(2)} ms (P-384, the default issuing CA's) ` +
      `and ${signMs('P-256').toFixed(3)} ms (P-256): compare CPU figures from other machines through these.`,
  );
  if (lastByCommand) {
    console.log(
      `APDU round trips of the ${lastByCommand.n}-agent row by the command that ended them (the wait before it):`,
    );
    console.table(lastByCommand.rows);
  }
  if (lastIo) {
    console.log(
      `The server's I/O in the ${lastIo.n}-agent row: SQL statements (by first word) and WebSocket frames ` +
        `(by type) it sent, the bench's own HTTP polling of the jobs included:`,
    );
    console.table(lastIo.rows);
    console.log(
      "The SQL statements split: the bench's polling (its job reads, each costed in a window of its own) " +
        "and the rest, the issuance itself (its start request included; idle agents' heartbeats too):",
    );
    console.table(lastIo.split);
    if (process.env.BENCH_SQL) {
      const cards = Math.max(1, lastIo.cards);
      console.log('SQL statements per card, by text (BENCH_SQL is set):');
      for (const [text, k] of Object.entries(lastIo.statements).sort((a, b) => b[1] - a[1]))
        console.log(
          `  ${(k / cards).toFixed(2).padStart(6)}  ${text.replace(/\s+/g, ' ').trim().slice(0, 160)}`,
        );
    }
  }
  if (profileText) console.log(profileText);
}
