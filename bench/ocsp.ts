// `npm run bench -- ocsp [--seconds N] [--connections N] [--postgres] [--crl-only]`: revocation status at the
// speed of HTTP (issue 18). Starts a Tessera server in this process (PGlite in memory, or a fresh
// PostgreSQL schema with --postgres), issues one certificate from a CSR, and drives the server with
// autocannon in a second process (N connections, default 32):
//   - OCSP GET and POST, without nonce (kept answers) and with one (signed afresh every time);
//   - /healthz on the same server: the HTTP stack's ceiling;
//   - `openssl ocsp -index … -port` answering the same certificate: a reference responder;
// then CRL builds of 1,000 / 10,000 / 100,000 revoked entries (full read, and the next CRL built
// incrementally after one more revocation), and the time from a revocation to the first OCSP
// answer that shows it. Prints the tables with the load average before and after.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import { loadConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { MasterKey } from '../src/secrets/master-key.js';
import { systemActor } from '../src/services/context.js';
import { SoftCaKeys } from '../src/services/pki/ca-keys.js';
import { createPki } from '../src/services/pki/pki.js';
import { insertCertificates } from '../src/store/certificate-repo.js';
import { openDb, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');
const DAY = 86_400_000;

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const openssl = (dir: string, args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Load {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

// The load generator's process: autocannon's API (its CLI reads a body file as text, which breaks
// a DER request), the body read as bytes; prints autocannon's summary as JSON.
const DRIVER = `
const autocannon = require(process.argv[1]);
const o = JSON.parse(process.argv[2]);
const body = o.body ? require('node:fs').readFileSync(o.body) : undefined;
autocannon({ url: o.url, connections: o.connections, duration: o.seconds, method: body ? 'POST' : 'GET',
  headers: body ? { 'content-type': 'application/ocsp-request' } : {}, body }, (err, r) => {
  if (err) throw err;
  process.stdout.write(JSON.stringify(r));
});
`;

/** One autocannon run in a child process; its summary. */
function autocannon(url: string, o: { seconds: number; connections: number; body?: string }): Promise<Load> {
  const args = ['-e', DRIVER, AUTOCANNON, JSON.stringify({ url, ...o })];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      const r = JSON.parse(out) as {
        requests: { average: number };
        latency: { p50: number; p99: number };
        errors: number;
        timeouts: number;
        non2xx: number;
      };
      resolve({
        rate: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
      });
    });
  });
}

/** The status of the single answer in an OCSP response: good, revoked or unknown. */
function ocspStatus(der: Buffer): string {
  const outer = AsnConvert.parse(der, OCSPResponse);
  const basic = AsnConvert.parse(outer.responseBytes!.response.buffer, BasicOCSPResponse);
  const s = basic.tbsResponseData.responses[0]!.certStatus;
  return s.good !== undefined ? 'good' : s.revoked ? 'revoked' : 'unknown';
}

/** A free TCP port on loopback, for the openssl responder. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Issues one PIV Authentication certificate from an openssl CSR; writes leaf.pem and issuing.pem. */
async function issueOne(rt: Runtime, dir: string): Promise<{ id: string; issuingId: string }> {
  const [u] = await rt.db.query<{ id: string }>(
    `INSERT INTO users (username, display_name) VALUES ('bench.ocsp', 'Bench OCSP') RETURNING id`,
  );
  const [d] = await rt.db.query<{ id: string }>(
    `INSERT INTO devices (serial, type, state, user_id) VALUES ($1, 'piv_card', 'issuing', $2) RETURNING id`,
    [`BENCH${randomBytes(4).toString('hex')}`, u!.id],
  );
  const [c] = await rt.db.query<{ id: string }>(
    `INSERT INTO credentials (user_id, profile, slot) VALUES ($1, 'PIV Authentication', '9a') RETURNING id`,
    [u!.id],
  );
  openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'leaf.key', '-subj', '/CN=ignored', '-out', 'leaf.csr',
  ]); // prettier-ignore
  const cert = await rt.services.pki.issuer.issueFromCsr(
    systemActor('bench'),
    {
      user: {
        id: u!.id,
        username: 'bench.ocsp',
        displayName: 'Bench OCSP',
        email: null,
        upn: null,
        properties: {},
      },
      profile: {
        name: 'PIV Authentication',
        certificateProfile: 'piv_authentication',
        keyAlgorithm: 'ECCP256',
        validityDays: 365,
        slot: '9a',
      },
      deviceId: d!.id,
      credentialId: c!.id,
    },
    openssl(dir, ['req', '-in', 'leaf.csr']),
  );
  writeFileSync(join(dir, 'leaf.pem'), await rt.services.pki.certificates.pem(cert.id));
  const issuingId = (await rt.services.pki.cas.list()).find((x) => x.kind === 'issuing')!.id;
  writeFileSync(join(dir, 'issuing.pem'), await rt.services.pki.cas.certificatePem(issuingId));
  return { id: cert.id, issuingId };
}

/**
 * `openssl ocsp` as a responder for leaf.pem (a P-256 signer of its own, like Tessera's). One
 * process serves one keep-alive connection at a time, so it gets one process per connection
 * (-multi): otherwise all but one of the load generator's connections would wait.
 */
async function opensslResponder(
  dir: string,
  processes: number,
): Promise<{ port: number; child: ChildProcess }> {
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'rsigner.key', '-subj', '/CN=openssl reference responder', '-days', '2', '-out', 'rsigner.pem',
  ]); // prettier-ignore
  const serial = openssl(dir, ['x509', '-in', 'leaf.pem', '-noout', '-serial']).trim().split('=')[1]!;
  const enddate = openssl(dir, ['x509', '-in', 'leaf.pem', '-noout', '-enddate']).trim().split('=')[1]!;
  const end = new Date(enddate);
  const yymmdd = end.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeFileSync(join(dir, 'index.txt'), `V\t${yymmdd}\t\t${serial}\tunknown\t/CN=bench\n`);
  const port = await freePort();
  const child = spawn(
    'openssl',
    ['ocsp', '-index', 'index.txt', '-port', String(port), '-rsigner', 'rsigner.pem', '-rkey', 'rsigner.key',
      '-CA', 'issuing.pem', '-nmin', '60', '-multi', String(processes)], // prettier-ignore
    { cwd: dir, stdio: 'ignore' },
  );
  await waitForPort(port);
  return { port, child };
}

/** CRL builds for n revoked entries: a fresh publisher's full read, then the next one incremental. */
async function crlFigures(db: Db, sizes: number[]) {
  const masterKey = MasterKey.generate();
  const caKeys = new SoftCaKeys(masterKey);
  let now = new Date();
  const pkiOf = () =>
    createPki({
      db,
      masterKey,
      caKeys,
      clock: { now: () => now },
      config: {
        externalUrl: 'http://127.0.0.1:9/',
        crlValidityHours: 24,
        caAlgorithm: 'ECCP384',
        organization: 'Bench Org',
      },
    });
  const issuingCaId = (await pkiOf().cas.ensureHierarchy()).issuingCaId;
  const rows: Record<string, Record<string, number>> = {};
  let have = 0;
  for (const n of sizes) {
    // Rows only (4,000 a statement: 14 parameters each, under PostgreSQL's 65,535): a CRL reads status, serial, revocation time and reason, and validity.
    for (let i = have; i < n; i += 4000) {
      const batch = Array.from({ length: Math.min(4000, n - i) }, (_, j) => ({
        id: randomUUID(),
        caId: issuingCaId,
        serial: `1${randomBytes(15).toString('hex')}0`,
        userId: null,
        deviceId: null,
        credentialId: null,
        profile: 'piv_authentication',
        slot: null,
        subject: `CN=bulk ${i + j}`,
        keyAlgorithm: 'ECCP256',
        notBefore: new Date(now.getTime() - 2 * DAY),
        notAfter: new Date(now.getTime() + 365 * DAY),
        der: Buffer.from([0x30, 0x00]),
      }));
      // Issued and revoked a day before: the population a real CA has gathered over time, so
      // the next CRL's incremental read finds only the one change made below.
      const before = new Date(now.getTime() - DAY);
      await db.transaction((tx) => insertCertificates(tx, batch, before));
      await db.query(
        `UPDATE certificates SET status = 'revoked', revocation_reason = 'superseded', revoked_at = $2
          WHERE id = ANY($1::uuid[])`,
        [batch.map((b) => b.id), before],
      );
    }
    have = n;
    now = new Date(now.getTime() + 1000);
    const pki = pkiOf(); // a fresh server: nothing kept, the first CRL reads every entry
    let t0 = performance.now();
    const full = await pki.crls.publish(issuingCaId);
    const fullMs = performance.now() - t0;
    // One more revocation, then the next CRL from the kept entries plus the change.
    const [one] = await db.query<{ id: string }>(
      `SELECT id FROM certificates WHERE ca_id = $1 AND status = 'valid' LIMIT 1`,
      [issuingCaId],
    );
    if (one) await pki.revocation.revoke(systemActor('bench'), one.id, 'keyCompromise');
    now = new Date(now.getTime() + 1000);
    t0 = performance.now();
    await pki.crls.publish(issuingCaId);
    const incMs = performance.now() - t0;
    t0 = performance.now();
    await pki.crls.current(issuingCaId);
    const servedMs = performance.now() - t0;
    rows[`${n.toLocaleString('en-US')} entries`] = {
      'full build ms': Math.round(fullMs),
      'next (incremental) ms': Math.round(incMs),
      'served from memory ms': +servedMs.toFixed(2),
      'size KB': Math.round(full.length / 1024),
    };
  }
  return rows;
}

/** The CRL figures, on a database of their own (a hierarchy of their own, no traffic meanwhile). */
async function printCrls(schema: string | undefined): Promise<void> {
  const crlDb = await openDb(schema ? { databaseUrl: PG_URL, schema: `${schema}_crl` } : {});
  let crls: Awaited<ReturnType<typeof crlFigures>>;
  try {
    await migrate(crlDb);
    crls = await crlFigures(crlDb, [1_000, 10_000, 100_000]);
  } finally {
    await crlDb.close();
    if (schema) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema}_crl CASCADE`);
      await c.end();
    }
  }
  console.log(
    `\nCRLs of an issuing CA (P-384), entries DER-encoded directly; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.table(crls);
}

export async function run(args: string[]): Promise<void> {
  const seconds = option(args, '--seconds', 10);
  const connections = option(args, '--connections', 32);
  const postgres = args.includes('--postgres');
  const schema = postgres ? `bench_ocsp_${randomBytes(4).toString('hex')}` : undefined;
  if (args.includes('--crl-only')) return printCrls(schema);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-ocsp-'));
  const loadBefore = loadavg().map((x) => x.toFixed(1));
  const config = loadConfig(
    { host: '127.0.0.1', port: await freePort(), dataDir: dir, logLevel: 'silent', databaseUrl: schema ? PG_URL : undefined },
    {},
  ); // prettier-ignore
  const rt = await openRuntime(config, { inMemory: true, schema });
  const app = await buildApp(rt);
  let responder: ChildProcess | undefined;
  try {
    const base = await app.listen({ host: '127.0.0.1', port: config.port });
    const { id: certId } = await issueOne(rt, dir);
    openssl(dir, [
      'ocsp',
      '-no_nonce',
      '-issuer',
      'issuing.pem',
      '-cert',
      'leaf.pem',
      '-reqout',
      'plain.req',
    ]);
    openssl(dir, ['ocsp', '-issuer', 'issuing.pem', '-cert', 'leaf.pem', '-reqout', 'nonce.req']);
    const b64 = (f: string) => encodeURIComponent(openssl(dir, ['base64', '-A', '-in', f]));
    const getPlain = `${base}/pki/ocsp/${b64('plain.req')}`;
    const getNonce = `${base}/pki/ocsp/${b64('nonce.req')}`;
    const check = async (url: string, init?: RequestInit) => {
      const r = await fetch(url, init);
      const status = ocspStatus(Buffer.from(await r.arrayBuffer()));
      if (r.status !== 200 || status !== 'good') throw new Error(`${url}: ${r.status} ${status}`);
    };
    await check(getPlain);
    // The answer to a request without nonce is kept (RFC 5019 caching headers say so): the load
    // below measures serving it.
    const kept = (await fetch(getPlain)).headers.get('cache-control') ?? '';
    if (!kept.startsWith('max-age=')) throw new Error(`the GET answer was not kept: ${kept}`);
    for (const f of ['plain.req', 'nonce.req'])
      await check(`${base}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: new Uint8Array(readFileSync(join(dir, f))),
      });
    await check(getNonce);
    const ref = await opensslResponder(dir, connections);
    responder = ref.child;
    const refOut = openssl(dir, [
      'ocsp', '-issuer', 'issuing.pem', '-cert', 'leaf.pem', '-no_nonce', '-noverify',
      '-url', `http://127.0.0.1:${ref.port}/`,
    ]); // prettier-ignore
    if (!refOut.includes('leaf.pem: good')) throw new Error(`openssl responder: ${refOut}`);

    const runs: [string, string, string | undefined][] = [
      ['Tessera OCSP GET, no nonce (kept answer)', getPlain, undefined],
      ['Tessera OCSP POST, no nonce (kept answer)', `${base}/pki/ocsp`, join(dir, 'plain.req')],
      ['Tessera OCSP GET, nonce (signed afresh)', getNonce, undefined],
      ['Tessera OCSP POST, nonce (signed afresh)', `${base}/pki/ocsp`, join(dir, 'nonce.req')],
      ['Tessera /healthz (HTTP ceiling)', `${base}/healthz`, undefined],
      [
        `openssl ocsp -index -port -multi ${connections}, POST, no nonce`,
        `http://127.0.0.1:${ref.port}/`,
        join(dir, 'plain.req'),
      ],
    ];
    const table: Record<string, Record<string, number | string>> = {};
    for (const [name, url, body] of runs) {
      const r = await autocannon(url, { seconds, connections, ...(body ? { body } : {}) });
      table[name] = {
        'answers/s': Math.round(r.rate),
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        errors: r.errors,
      };
    }
    const healthz = table['Tessera /healthz (HTTP ceiling)']!['answers/s'] as number;
    for (const row of Object.values(table))
      row['of /healthz'] = `${Math.round(((row['answers/s'] as number) / healthz) * 100)} %`;

    // A revocation, then the next GET of the very same request (the kept answer must be gone).
    const t0 = performance.now();
    await rt.services.pki.revocation.revoke(systemActor('bench'), certId, 'keyCompromise');
    const revokedMs = performance.now() - t0;
    const r = await fetch(getPlain);
    const seen = ocspStatus(Buffer.from(await r.arrayBuffer()));
    const totalMs = performance.now() - t0;
    if (seen !== 'revoked') throw new Error(`the answer after the revocation says ${seen}`);
    console.log(
      `\nOCSP on ${postgres ? 'PostgreSQL' : 'PGlite'}, ${connections} connections, ${seconds} s each, ` +
        `${cpus().length} CPUs; autocannon in a second process; load average before ${loadBefore.join(' ')}, ` +
        `after ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}`,
    );
    console.table(table);
    console.log(
      `Status change → new answer: revoke (commit, kept answers dropped, CRL re-signed) ${revokedMs.toFixed(1)} ms; ` +
        `the next GET answered "revoked" ${totalMs.toFixed(1)} ms after the revocation began`,
    );

    await printCrls(schema);
  } finally {
    // The -multi parent does not take its children down on SIGTERM, and children left behind
    // spin on their closed connections: kill the children first, then the parent.
    if (responder?.pid) spawnSync('pkill', ['-KILL', '-P', String(responder.pid)]);
    responder?.kill('SIGKILL');
    await app.close();
    await rt.close();
    if (schema) {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
