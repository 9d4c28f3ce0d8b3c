// PKI issuance benchmark (issue 3). For a P-256 and an RSA-2048 issuing CA it measures, in one run:
//   openssl  — `openssl speed` raw signatures/s for the same algorithm (the ceiling),
//   checked  — certificates/s built and signed by the stock @peculiar/x509 generator (WebCrypto),
//   sign path — certificates/s built from the compiled DER template and signed (cert-template.ts),
//   e2e      — certificates/s through the CA's issuer (issueFromCsr): parse + verify the CSR,
//              build, sign, store and audit, on PGlite and on PostgreSQL,
// and prints each rate beside openssl's as a ratio. Options: --seconds N (per measurement, default 3),
// --concurrency N (e2e requests in flight, default 32), --no-postgres.
import { execFileSync } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPair, spkiOf, type KeyAlgorithm } from '../src/pki/algorithms.js';
import { createCaHierarchy } from '../src/pki/ca-builder.js';
import { CompiledProfile } from '../src/pki/cert-template.js';
import { issueChecked, subjectAltNamesFor, webCryptoKey, type LeafInput } from '../src/pki/leaf.js';
import { randomSerial } from '../src/pki/serial.js';
import { SoftSigner } from '../src/pki/signer.js';
import { DEFAULT_SUBJECT_TEMPLATE, renderSubject, type SubjectPerson } from '../src/pki/subject.js';
import { MasterKey } from '../src/secrets/master-key.js';
import { systemActor } from '../src/services/context.js';
import type { IssueTarget } from '../src/services/pki/certificate-issuer.js';
import { createPki } from '../src/services/pki/pki.js';
import { openDb, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const crypto = webcrypto as unknown as Crypto;

const person: SubjectPerson = {
  username: 'bench.user',
  displayName: 'Bench User',
  email: 'bench.user@example.test',
  upn: null,
  properties: {},
};

interface Row {
  alg: KeyAlgorithm;
  openssl: number;
  checked: number;
  fast: number;
  fastWall: number;
  e2e: Record<string, { wall: number; cpu: number } | null>;
}

function opensslSpeed(alg: KeyAlgorithm, seconds: number): number {
  const which = alg === 'ECCP256' ? 'ecdsap256' : 'rsa2048';
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), which], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  48000.0  15000.0" / "rsa 2048 bits 0.0006s 0.00002s 1666.0 58000.0"
  const line = out
    .split('\n')
    .find((l) => (alg === 'ECCP256' ? /nistp256\)\s+[\d.]+s/.test(l) : /^rsa\s+2048 bits\s+[\d.]+s/.test(l)));
  const nums = line?.match(/[\d.]+(?=\s|$)/g);
  if (!line || !nums || nums.length < 2) throw new Error(`Cannot read openssl speed output:\n${out}`);
  return Number(nums[nums.length - 2]);
}

/**
 * Runs `once` for about `seconds` and returns certificates per CPU-second of this process. CPU
 * time, not wall time, because that is what `openssl speed` reports by default (user time), so the
 * ratio holds on a machine shared with other work; the wall-clock rate is returned beside it.
 */
async function timed(seconds: number, once: () => unknown): Promise<{ cpu: number; wall: number }> {
  // Warm up (JIT, template caches) before measuring.
  for (let i = 0; i < 20; i++) await once();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 16; i++) await once();
    n += 16;
    now = process.hrtime.bigint();
  }
  const used = process.cpuUsage(cpu0);
  return { cpu: n / ((used.user + used.system) / 1e6), wall: n / (Number(now - start) / 1e9) };
}

/** Wall-clock rate with `concurrency` requests in flight, and this process's CPU per certificate. */
async function timedConcurrent(
  seconds: number,
  concurrency: number,
  once: () => Promise<unknown>,
): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < 20; i++) await once();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = Date.now();
  const stopAt = start + seconds * 1000;
  const worker = async () => {
    while (Date.now() < stopAt) {
      await once();
      n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(cpu0);
  return { wall: n / ((Date.now() - start) / 1000), cpu: n / ((used.user + used.system) / 1e6) };
}

async function makeCsrs(alg: KeyAlgorithm, count: number): Promise<string[]> {
  const params =
    alg === 'ECCP256'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const keys = (await crypto.subtle.generateKey(params, false, ['sign', 'verify'])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
      { name: `CN=bench ${i}`, keys, signingAlgorithm: params },
      crypto,
    );
    out.push(csr.toString('pem'));
  }
  return out;
}

async function e2e(
  db: Db,
  alg: KeyAlgorithm,
  csrs: string[],
  seconds: number,
  concurrency: number,
): Promise<{ wall: number; cpu: number }> {
  await migrate(db);
  const pki = createPki({
    db,
    masterKey: MasterKey.generate(),
    clock: { now: () => new Date() },
    config: { externalUrl: 'https://cms.example.test', crlValidityHours: 24, caAlgorithm: alg },
  });
  await pki.cas.ensureHierarchy();
  const actor = systemActor('bench');
  const target: IssueTarget = {
    user: { ...person, id: null },
    profile: { certificateProfile: 'piv_authentication', keyAlgorithm: alg, validityDays: 365 },
  };
  let i = 0;
  return timedConcurrent(seconds, concurrency, () =>
    pki.issuer.issueFromCsr(actor, target, csrs[i++ % csrs.length]!),
  );
}

async function postgresSchema(): Promise<{ db: Db; drop(): Promise<void> } | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
  } catch {
    return null;
  }
  const schema = `bench_pki_${randomBytes(5).toString('hex')}`;
  const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 16 });
  return {
    db,
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await a.end();
    },
  };
}

const fmt = (n: number | null) => (n === null ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const pct = (a: number | null, b: number) => (a === null ? 'n/a' : `${((a / b) * 100).toFixed(1)} %`);

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const seconds = opt('seconds', 3);
  const concurrency = opt('concurrency', 32);
  const withPostgres = !args.includes('--no-postgres');
  console.log(
    `PKI issuance benchmark — Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), ${seconds} s per measurement`,
  );
  console.log(
    `Load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )} — on a shared machine every rate here moves with it; the ratios to openssl (same run) move less.`,
  );
  const rows: Row[] = [];
  for (const alg of ['ECCP256', 'RSA2048'] as const) {
    process.stdout.write(`\n[${alg}] openssl speed … `);
    const openssl = opensslSpeed(alg, seconds);
    console.log(`${fmt(openssl)} sign/CPU-s`);
    const issuingKey = generateKeyPair(alg).privateKey;
    const { issuing: ca } = await createCaHierarchy({
      root: { id: '00000000-0000-4000-8000-000000000001', signer: SoftSigner.generate(alg) },
      issuing: { id: '00000000-0000-4000-8000-000000000002', signer: new SoftSigner(issuingKey) },
      organization: 'Bench',
      externalUrl: 'https://cms.example.test',
      now: new Date(),
    });
    const checkedKey = await webCryptoKey(issuingKey, alg);
    const subjectKey = spkiOf(generateKeyPair(alg).publicKey);
    const base: Omit<LeafInput, 'serial'> = {
      profile: 'piv_authentication',
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 365 * 864e5),
      subject: renderSubject(DEFAULT_SUBJECT_TEMPLATE, person),
      subjectAltNames: subjectAltNamesFor('piv_authentication', person, {
        uuid: '6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5',
        fascn: null,
      }),
      spki: subjectKey,
      ecKey: alg === 'ECCP256',
    };
    process.stdout.write(`[${alg}] checked path (@peculiar/x509) … `);
    const checkedRate = await timed(Math.min(seconds, 2), () =>
      issueChecked(ca, checkedKey, { ...base, serial: randomSerial() }),
    );
    const checked = checkedRate.cpu;
    console.log(`${fmt(checked)} cert/CPU-s (${fmt(checkedRate.wall)}/s wall)`);
    process.stdout.write(`[${alg}] sign path (compiled template) … `);
    const tpl = new CompiledProfile(ca, 'piv_authentication', alg === 'ECCP256');
    const fastRate = await timed(seconds, () => tpl.issue({ ...base, serial: randomSerial() }));
    const fast = fastRate.cpu;
    console.log(`${fmt(fast)} cert/CPU-s (${fmt(fastRate.wall)}/s wall)`);
    const csrs = await makeCsrs(alg, alg === 'ECCP256' ? 500 : 60);
    const e2eRates: Row['e2e'] = {};
    process.stdout.write(`[${alg}] end to end on PGlite … `);
    const lite = await openDb();
    try {
      e2eRates.pglite = await e2e(lite, alg, csrs, seconds, concurrency);
    } finally {
      await lite.close();
    }
    console.log(`${fmt(e2eRates.pglite!.wall)} cert/s (${fmt(e2eRates.pglite!.cpu)} per Node CPU-s)`);
    e2eRates.postgres = null;
    if (withPostgres) {
      const p = await postgresSchema();
      if (!p) console.log(`[${alg}] end to end on PostgreSQL … skipped: ${PG_URL} is not reachable`);
      else {
        process.stdout.write(`[${alg}] end to end on PostgreSQL … `);
        try {
          e2eRates.postgres = await e2e(p.db, alg, csrs, seconds, concurrency);
        } finally {
          await p.drop();
        }
        console.log(`${fmt(e2eRates.postgres.wall)} cert/s (${fmt(e2eRates.postgres.cpu)} per Node CPU-s)`);
      }
    }
    rows.push({ alg, openssl, checked, fast, fastWall: fastRate.wall, e2e: e2eRates });
  }

  const header = [
    'issuing key',
    'openssl sign/CPU-s',
    'checked cert/CPU-s',
    'sign path cert/CPU-s',
    'sign path ÷ openssl',
    'e2e PGlite/s',
    'e2e PostgreSQL/s (per Node CPU-s)',
  ];
  const table = rows.map((r) => [
    r.alg === 'ECCP256' ? 'ECDSA P-256' : 'RSA 2048',
    fmt(r.openssl),
    `${fmt(r.checked)} (${pct(r.checked, r.openssl)})`,
    `${fmt(r.fast)} (${fmt(r.fastWall)}/s wall)`,
    pct(r.fast, r.openssl),
    fmt(r.e2e.pglite?.wall ?? null),
    r.e2e.postgres ? `${fmt(r.e2e.postgres.wall)} (${fmt(r.e2e.postgres.cpu)})` : 'n/a',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const t of table) console.log(line(t));
  console.log(
    `Load average at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    'Rates per CPU-second are what `openssl speed` reports (user time). End-to-end rates are wall clock (they wait on the database); ' +
      'in brackets, certificates per CPU-second of this Node process (the database server CPU not counted): the rate one free core would give.',
  );
  console.log(
    '\nTargets (issue 3): sign path ≥ 10 % of openssl in the same run; ≥ 500 cert/s end to end on PostgreSQL (store + audit).',
  );
  for (const r of rows) {
    const signOk = r.fast / r.openssl >= 0.1;
    const e2eOk = (r.e2e.postgres?.wall ?? 0) >= 500;
    console.log(
      `  ${r.alg}: sign path ${signOk ? 'meets' : 'MISSES'} 10 %; end to end on PostgreSQL ${r.e2e.postgres == null ? 'not measured' : e2eOk ? 'meets' : 'MISSES'} 500/s`,
    );
  }
}
