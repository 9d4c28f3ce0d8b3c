// The issuance API as the operator portal uses it: list cards, start, follow progress over SSE,
// failure, retry, cancel, recycle, Get Initial PIN; roles and bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

let srv: TestServer;
let cards: MemoryCardAccess;
let admin: ApiClient;
let aliceId: string;
let policyId: string;

beforeAll(async () => {
  cards = new MemoryCardAccess(20);
  cards.addCard('Reader A', 30_000_001);
  cards.addCard('Reader B', 30_000_002);
  srv = await startTestServer({ demo: true, cardAccess: cards });
  admin = new ApiClient(srv.url);
  await admin.login(srv.admin.username, srv.admin.password);
  aliceId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=alice')).body.items[0]!.id;
  policyId = (
    await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
  ).body.items.find((p) => p.name.includes('ECC'))!.id;
  const s = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
  await admin.json('PUT', '/api/settings', { ...s, initialPinDisplayMode: 'displayed' });
});
afterAll(async () => srv?.close());

type Job = {
  id: string;
  status: string;
  progress: number;
  step: string;
  deviceId: string;
  error: { code: string; correlationId: string } | null;
};

/** Reads the SSE stream until the job ends; returns every event's job. */
async function follow(jobId: string): Promise<Job[]> {
  const res = await admin.call('GET', `/api/issuance/jobs/${jobId}/events`);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('event: job'))
    .map((b) => JSON.parse(b.split('\ndata: ')[1]!) as Job);
}

describe('issuance API', () => {
  it('lists the connected cards', async () => {
    const r = await admin.json<{ items: { reader: string; serial: string; status: string }[] }>(
      'GET',
      '/api/issuance/cards',
    );
    expect(r.status).toBe(200);
    expect(r.body.items.map((c) => [c.reader, c.serial, c.status])).toEqual([
      ['Reader A', '30000001', 'blank'],
      ['Reader B', '30000002', 'blank'],
    ]);
  });

  it('issues with progress streamed to the end, then Get Initial PIN is refused (PIN was displayed)', async () => {
    const r = await admin.json<{ job: Job; device: { state: string } }>('POST', '/api/issuance', {
      userId: aliceId,
      agentId: TEST_AGENT_ID,
      reader: 'Reader A',
      action: 'issue',
      policyId,
      pin: '482913',
    });
    expect(r.status).toBe(202);
    expect(r.body.device.state).toBe('issuing');
    const events = await follow(r.body.job.id);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ status: 'succeeded', progress: 100 });
    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.step)).size).toBeGreaterThan(1);
    const dev = await admin.json<{ job: Job; initialPinAvailable: boolean }>(
      'GET',
      `/api/devices/${last.deviceId}/issuance`,
    );
    expect(dev.body).toMatchObject({ job: { status: 'succeeded' }, initialPinAvailable: false });
    expect((await admin.json('POST', `/api/devices/${last.deviceId}/initial-pin`)).status).toBe(409);
    const certs = await admin.json<{ total: number }>('GET', `/api/certificates?deviceId=${last.deviceId}`);
    if (certs.status === 200) expect(certs.body.total).toBe(3);
  });

  it('starting on an empty reader is refused with a card error, before anything is written', async () => {
    cards.readers.remove('Reader B');
    const r = await admin.json<{ error: { code: string } }>('POST', '/api/issuance', {
      userId: aliceId,
      agentId: TEST_AGENT_ID,
      reader: 'Reader B',
      action: 'issue',
      policyId,
      pin: '482913',
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body.error.code).toMatch(/card/);
  });

  it('refuses bad input and roles that may not issue', async () => {
    const base = { userId: aliceId, agentId: TEST_AGENT_ID, reader: 'Reader A', action: 'issue', policyId };
    expect((await admin.json('POST', '/api/issuance', { ...base, action: 'print' })).status).toBe(400);
    expect((await admin.json('POST', '/api/issuance', { ...base, pin: 42 })).status).toBe(400);
    expect((await admin.json('POST', '/api/issuance', { ...base, extra: true })).status).toBe(400);
    expect((await admin.json('POST', '/api/issuance', { ...base, pin: '1'.repeat(40) })).status).toBe(400);
    expect((await admin.json('GET', '/api/issuance/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    );
    const helpdesk = new ApiClient(srv.url);
    await helpdesk.login('hannah.help', srv.demoPassword!);
    const denied = await helpdesk.json<{ error: { code: string } }>('POST', '/api/issuance', {
      ...base,
      pin: '482913',
    });
    expect(denied.status).toBe(403);
    const user = new ApiClient(srv.url);
    await user.login('bob', srv.demoPassword!);
    expect((await user.json('GET', '/api/issuance/cards')).status).toBe(403);
  });

  it('binding an unknown card registers it only for those who may register devices (device.register)', async () => {
    // The help desk may bind (device.bind) but not register: a card not in the inventory is refused
    // with what to do, and nothing is registered; once an officer has registered it, it binds.
    cards.addCard('Reader H', 30_000_009);
    const helpdesk = new ApiClient(srv.url);
    await helpdesk.login('hannah.help', srv.demoPassword!);
    const bind = { userId: aliceId, agentId: TEST_AGENT_ID, reader: 'Reader H', action: 'bind', policyId };
    const refused = await helpdesk.json<{ error: { code: string; message: string } }>(
      'POST',
      '/api/issuance',
      bind,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/30000009 is not in the inventory: ask an issuance officer/);
    const none = await admin.json<{ items: unknown[] }>('GET', '/api/devices?q=30000009');
    expect(none.body.items).toEqual([]);

    expect((await admin.json('POST', '/api/devices', { serial: '30000009', type: 'piv_card' })).status).toBe(
      201,
    );
    const bound = await helpdesk.json<{ device: { serial: string; state: string }; job: unknown }>(
      'POST',
      '/api/issuance',
      bind,
    );
    expect(bound.status).toBe(202);
    expect(bound.body).toMatchObject({ device: { serial: '30000009', state: 'bound' }, job: null });
  });
});
