// Issue #20's "done when", with real processes: two `tessera serve` (the built CLI, dist/) on one
// PostgreSQL schema, short leases (TESSERA_INSTANCE_LEASE_SECONDS=3), a real `tessera agent` with
// emulated cards paired and connected to server A, and a client that talks only to server B:
//  1. B issues a card in A's agent end to end; the client follows the progress over SSE on B;
//  2. a CA imported through B is the CA that signs the next card (run by A, which held the old list);
//     B is restarted while A runs that issuance, and A's job succeeds;
//  3. A is killed (SIGKILL) mid-issuance: once A's lease runs out, B fails the job as interrupted
//     and revokes the certificates it had issued.
// No timed assertion: the test waits for each state (polling), with generous limits.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCode, signIn, until } from '../agent/support.js';
import { startProcess, type RunningCli } from '../support/cli.js';
import { PG_URL, dropSchema, postgresAvailable, testSchemaName } from '../support/db.js';
import type { ApiClient } from '../support/server.js';
import { freePort } from '../support/server.js';
import { testHierarchy } from '../pki/fixtures.js';
import { toPem } from '../pki/openssl.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(root, 'dist/cli/main.js');
const available = await postgresAvailable();
if (!available) console.warn('SKIPPED test/cluster/two-servers.test.ts: no PostgreSQL at 127.0.0.1:5432');

type Job = { id: string; status: string; progress: number; error: { code: string } | null; deviceId: string };
type Card = { reader: string; serial: string | null; status: string };

describe.skipIf(!available)('two tessera serve processes on one PostgreSQL', { timeout: 600_000 }, () => {
  const schema = testSchemaName('two');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-two-'));
  const masterKey = randomBytes(32).toString('base64');
  const dbUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const sql = new pg.Client({ connectionString: dbUrl });
  const ports = { a: 0, b: 0 };
  const procs: Record<string, RunningCli | undefined> = {};
  let adminPassword = '';
  let onB: ApiClient;
  let aliceId: string;
  let rsaPolicy: string;
  let eccPolicy: string;

  const serve = (name: 'a' | 'b'): RunningCli =>
    startProcess(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        TESSERA_MASTER_KEY: masterKey,
        TESSERA_DATA_DIR: join(dir, name),
        TESSERA_INSTANCE_LEASE_SECONDS: '3',
        TESSERA_INSTANCE_NAME: `server-${name}`,
        HOST: '127.0.0.1',
        PORT: String(ports[name]),
        TESSERA_EXTERNAL_URL: `http://127.0.0.1:${ports.a}`,
        LOG_LEVEL: 'warn',
      },
    });
  const url = (name: 'a' | 'b') => `http://127.0.0.1:${ports[name]}`;

  beforeAll(async () => {
    if (!existsSync(MAIN)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    await sql.connect();
    await sql.query(`CREATE SCHEMA ${schema}`);
    ports.a = await freePort();
    ports.b = await freePort();
    procs.a = serve('a');
    const [, password] = await procs.a.waitFor(/with password:\s+(\S+)/);
    adminPassword = password!;
    await procs.a.waitFor(/Tessera is running/);
    procs.b = serve('b');
    await procs.b.waitFor(/Tessera is running/);
    onB = await signIn(url('b'), 'admin', adminPassword);
    // The agent pairs with a code made on B and connects to A.
    const code = await newCode(onB);
    procs.agent = startProcess(
      process.execPath,
      [
        MAIN,
        'agent',
        '--server',
        url('a'),
        '--pair',
        code,
        '--name',
        'Desk at A',
        '--state',
        join(dir, 'agent.json'),
        '--readers',
        'memory',
        '--emulate',
        '3',
        '--serial',
        '52000001,52000002,52000003',
      ],
      { env: { ...process.env } },
    );
    await procs.agent.waitFor(/Connected to .* as "Desk at A"/, 120_000);
    const alice = await onB.json<{ id: string }>('POST', '/api/users', {
      username: 'alice.two',
      displayName: 'Alice Two',
      roles: ['user'],
    });
    expect(alice.status).toBe(201);
    aliceId = alice.body.id;
    // `tessera serve` seeds no demo: the demo's two policies, made through B.
    for (const p of DEMO_POLICIES.filter((x) => x.name.startsWith('PIV '))) {
      const r = await onB.json<{ id: string; name: string }>('POST', '/api/policies', p);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      if (p.name.startsWith('PIV RSA')) rsaPolicy = r.body.id;
      if (p.name.startsWith('PIV ECC')) eccPolicy = r.body.id;
    }
  });

  afterAll(async () => {
    for (const p of Object.values(procs)) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(Object.values(procs).map((p) => p?.stop()));
    await sql.end().catch(() => undefined);
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  const cardOnB = (serial: string) =>
    until(
      `B lists card ${serial}`,
      async () => {
        const r = await onB.json<{ items: Card[] }>('GET', '/api/issuance/cards');
        return r.body.items.find((c) => c.serial === serial);
      },
      60_000,
    );
  const start = async (reader: string, policyId: string) => {
    const r = await onB.json<{ job: Job }>('POST', '/api/issuance', {
      userId: aliceId,
      agentId: agentIdOf(),
      reader,
      action: 'issue',
      policyId,
      pin: '482913',
      pinConfirmation: '482913',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.job;
  };
  let agentId = '';
  const agentIdOf = () => agentId;
  const jobOnB = async (id: string) => (await onB.json<Job>('GET', `/api/issuance/jobs/${id}`)).body;
  const ownerOf = async (jobId: string) =>
    (
      await sql.query<{ name: string }>(
        `SELECT i.name FROM issuance_jobs j JOIN server_instances i ON i.id = j.owner_instance WHERE j.id = $1`,
        [jobId],
      )
    ).rows[0]?.name;

  it('B says which server answered and that two are alive', async () => {
    const r = await onB.json<{ self: { name: string }; alive: number }>('GET', '/api/health/instances');
    expect(r.body).toMatchObject({ self: { name: 'server-b' }, alive: 2 });
    const agents = await onB.json<{ items: { id: string; name: string }[] }>('GET', '/api/agents');
    agentId = agents.body.items.find((x) => x.name === 'Desk at A')!.id;
  });

  it('a client talking only to B issues a card in A’s agent, following the progress over SSE on B', async () => {
    const card = await cardOnB('52000001');
    expect(card.status).toBe('blank');
    const job = await start(card.reader, eccPolicy);
    const res = await onB.call('GET', `/api/issuance/jobs/${job.id}/events`);
    const events = (await res.text())
      .split('\n\n')
      .filter((x) => x.startsWith('event: job'))
      .map((x) => JSON.parse(x.split('\ndata: ')[1]!) as Job);
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', progress: 100 });
    expect(events.some((e) => e.status === 'running' && e.progress > 0)).toBe(true);
    expect(await ownerOf(job.id)).toBe('server-a');
  });

  it('a CA imported through B signs the next card, run by A while B restarts; A’s job succeeds', async () => {
    const ent = await testHierarchy('ECCP256', { organization: 'Imported at B' });
    const imported = await onB.json<{ id: string }>('POST', '/api/cas/import', {
      certificateChainPem: toPem(ent.issuing.certificateDer) + toPem(ent.root.certificateDer),
      privateKeyPem: ent.issuingKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    expect(imported.status).toBe(201);
    const card = await cardOnB('52000002');
    const job = await start(card.reader, rsaPolicy);
    // B goes away (SIGTERM) and comes back while A runs the job.
    await until('A runs the job', async () => (await ownerOf(job.id)) === 'server-a');
    expect(await procs.b!.stop()).toBe(0);
    const whileBDown = await sql.query<{ status: string }>('SELECT status FROM issuance_jobs WHERE id = $1', [
      job.id,
    ]);
    expect(whileBDown.rows[0]!.status).toBe('running');
    procs.b = serve('b');
    await procs.b.waitFor(/Tessera is running/);
    onB = await signIn(url('b'), 'admin', adminPassword);
    const done = await until(
      'the job ends',
      async () => {
        const j = await jobOnB(job.id);
        return j.status !== 'running' && j;
      },
      120_000,
    );
    expect(done).toMatchObject({ status: 'succeeded', progress: 100 });
    expect(await ownerOf(job.id)).toBe('server-a');
    const certs = await sql.query<{ ca_id: string; status: string }>(
      'SELECT ca_id, status FROM certificates WHERE device_id = $1',
      [done.deviceId],
    );
    expect(certs.rows.length).toBeGreaterThan(0);
    expect(certs.rows.every((c) => c.ca_id === imported.body.id && c.status === 'valid')).toBe(true);
  });

  it('A killed mid-issuance: after its lease B fails the job as interrupted and revokes its certificates', async () => {
    const card = await cardOnB('52000003');
    const job = await start(card.reader, rsaPolicy);
    const deviceId = job.deviceId;
    // Kill A once it has issued a certificate for the card and before it has finished. A card's
    // certificates are signed after all its keys, and the rest of the run is a second or so of
    // batched commands: to be sure A is still mid-issuance when it dies, this session holds the
    // device's row as A's last step (moving the device) needs it. FOR NO KEY UPDATE leaves the
    // credentials' and certificates' foreign keys (FOR KEY SHARE) free, so A gets that far.
    const gate = new pg.Client({ connectionString: dbUrl });
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query('SELECT 1 FROM devices WHERE id = $1 FOR NO KEY UPDATE', [deviceId]);
      await until(
        'a certificate issued for the card',
        async () =>
          (await sql.query('SELECT 1 FROM certificates WHERE device_id = $1', [deviceId])).rows.length > 0,
        120_000,
      );
      expect((await jobOnB(job.id)).status).toBe('running');
      procs.a!.child.kill('SIGKILL');
      await procs.a!.stop();
      // A's last step is one autocommitted statement (docs/decisions/0038): sent before the kill and
      // waiting for this row, PostgreSQL would finish and commit it once the row is free (a backend
      // notices its client gone only when it answers), and A's card is then rightly issued. A dead
      // server's connections end with it: end the one waiting here, as a crash mid-step does.
      // (pg_locks, not pg_stat_activity: the latter is read once per transaction, and this is one.)
      await gate.query(
        `SELECT pg_terminate_backend(pid) FROM (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted) w
          WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))`,
      );
      await gate.query('ROLLBACK');
    } finally {
      await gate.end();
    }
    const ended = await until(
      'B fails the job',
      async () => {
        const j = await jobOnB(job.id);
        return j.status !== 'running' && j;
      },
      120_000,
    );
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
    // The certificates are revoked right after the job's failure commits (outside its transaction).
    const statuses = async () =>
      (
        await sql.query<{ status: string }>('SELECT status FROM certificates WHERE device_id = $1', [
          deviceId,
        ])
      ).rows.map((c) => c.status);
    const revoked = await until(
      'B revokes the certificates A issued',
      async () => {
        const s = await statuses();
        return s.length > 0 && s.every((x) => x === 'revoked') && s;
      },
      60_000,
    );
    expect(revoked.length).toBeGreaterThan(0);
    // Each credential A made was made with its certificate, and is revoked with it.
    const creds = (
      await sql.query<{ status: string; certificates: number }>(
        `SELECT c.status, (SELECT count(*)::int FROM certificates x WHERE x.credential_id = c.id) AS certificates
           FROM credentials c JOIN device_credentials d ON d.credential_id = c.id WHERE d.device_id = $1`,
        [deviceId],
      )
    ).rows;
    expect(creds.length).toBe(revoked.length);
    expect(creds.every((c) => c.status === 'revoked' && c.certificates === 1)).toBe(true);
    const health = await onB.json<{ alive: number }>('GET', '/api/health/instances');
    expect(health.body.alive).toBe(1);
  });
});
