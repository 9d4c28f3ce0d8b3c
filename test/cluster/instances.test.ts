// Two servers on one PostgreSQL schema (issue #20): each registers with a lease; the health endpoint
// says which one answered and how many are alive; a job owned by a live server is left alone by
// the other's recovery sweep, and failed as interrupted (certificates revoked) once its owner's
// lease runs out — by exactly one sweeper. No timed assertion: the test polls for the state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import { postgresAvailable, testSchemaName, dropSchema } from '../support/db.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/cluster/instances.test.ts: no PostgreSQL at 127.0.0.1:5432');

describe.skipIf(!pg)('several servers on one PostgreSQL: instances and leases', { timeout: 120_000 }, () => {
  const schema = testSchemaName('inst');
  let a: TestServer;
  let b: TestServer;
  let stopA: () => void;
  let stopB: () => void;
  const cards = new MemoryCardAccess();

  beforeAll(async () => {
    const config = { instance: { leaseSeconds: 4 } };
    a = await startTestServer({ engine: 'postgres', schema, demo: true, config, cardAccess: cards });
    b = await startTestServer({ engine: 'postgres', schema, config, cardAccess: cards });
    stopA = a.rt.instance.startHeartbeat(() => undefined);
    stopB = b.rt.instance.startHeartbeat(() => undefined);
  });
  afterAll(async () => {
    stopA?.();
    stopB?.();
    await b?.close();
    await a?.close();
    await dropSchema(schema);
  });

  it('GET /api/health/instances says which server answered and how many are alive', async () => {
    const client = new ApiClient(b.url);
    expect((await client.login(a.admin.username, a.admin.password)).status).toBe(200);
    const { status, body } = await client.json<{
      self: { id: string };
      alive: number;
      instances: { id: string; alive: boolean }[];
    }>('GET', '/api/health/instances');
    expect(status).toBe(200);
    expect(body.self.id).toBe(b.rt.instance.id);
    expect(body.alive).toBe(2);
    expect(
      body.instances
        .filter((i) => i.alive)
        .map((i) => i.id)
        .sort(),
    ).toEqual([a.rt.instance.id, b.rt.instance.id].sort());
  });

  it('a live server’s job is left alone; once its lease runs out one sweeper fails it as interrupted', async () => {
    const svc = a.rt.services;
    const u = (await svc.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
    const admin: Actor = { id: u.id, name: u.username, roles: u.roles, permissions: permissionsOf(u.roles) };
    const alice = (await svc.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!;
    const ecc = (await svc.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
    const device = await svc.devices.register(admin, { serial: '7700001', type: 'piv_card' });
    await a.rt.db.query(`UPDATE devices SET state = 'issuing', user_id = $1, policy_id = $2 WHERE id = $3`, [
      alice.id,
      ecc.id,
      device.id,
    ]);
    // A job A runs (as A's runner would have written it): owned by A.
    const [row] = await a.rt.db.query<{ id: string }>(
      `INSERT INTO issuance_jobs (device_id, user_id, policy_id, status, progress, step, options, owner_instance)
       VALUES ($1, $2, $3, 'running', 40, 'Generate the key pair', $4, $5) RETURNING id`,
      [
        device.id,
        alice.id,
        ecc.id,
        JSON.stringify({ action: 'issue', pinMode: 'displayed', agentId: TEST_AGENT_ID, reader: 'r' }),
        a.rt.instance.id,
      ],
    );
    expect(await b.rt.services.issuance.interrupted.recover()).toBe(0);
    expect((await b.rt.services.issuance.jobs.get(row!.id)).status).toBe('running');

    // A stops beating (as if killed): its lease runs out, then B's sweeps claim the job.
    stopA();
    let recovered = 0;
    while ((await b.rt.services.issuance.jobs.get(row!.id)).status === 'running') {
      recovered += await b.rt.services.issuance.interrupted.recover();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(1);
    expect(await b.rt.services.issuance.jobs.get(row!.id)).toMatchObject({
      status: 'failed',
      error: { code: 'interrupted' },
    });
    expect((await b.rt.services.devices.get(device.id)).state).toBe('failed');
    const body = await b.rt.services.health.instances();
    expect(body.alive).toBe(1);
    expect(body.instances.find((i) => i.id === a.rt.instance.id)?.alive).toBe(false);
  });
});
