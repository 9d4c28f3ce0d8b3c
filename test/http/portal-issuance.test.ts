// Self-issuance through the user portal API (reference 000): an operator binds a blank card to a
// person and gives them an initial password; the person signs in to the portal, starts, watches the
// progress, sets their PIN, and the card is active with its certificates. A card not bound to them
// is refused; Retry exists only when "issuance retry for user" is enabled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { Job as JobSchema } from '../../src/http/schemas/issuance.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Job = {
  id: string;
  status: string;
  progress: number;
  pinChangePending: boolean;
  deviceId: string;
  error: { code: string } | null;
};

let srv: TestServer;
let cards: MemoryCardAccess;
let admin: ApiClient;
let bobId: string;
let policyId: string;
/** Whose agents each card connection was looked for in (the card access is keyed by owner). */
const owners: { owner: string; reader: string }[] = [];
/** The initial password the last portalSession() signed in with. */
let lastInitialPassword = '';

beforeAll(async () => {
  cards = new MemoryCardAccess();
  cards.addCard('Bound', 50_000_001);
  cards.addCard('Stranger', 50_000_002);
  cards.addCard('Desk', 50_000_003);
  cards.addCard('Spare', 50_000_004);
  cards.readers.addReader('Other');
  const connect = cards.connect.bind(cards);
  cards.connect = (owner, agentId, reader) => {
    owners.push({ owner, reader });
    return connect(owner, agentId, reader);
  };
  srv = await startTestServer({ demo: true, cardAccess: cards });
  admin = new ApiClient(srv.url);
  await admin.login(srv.admin.username, srv.admin.password);
  bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
  policyId = (
    await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
  ).body.items.find((p) => p.name.includes('ECC'))!.id;
});
afterAll(async () => srv?.close());

async function portalSession(): Promise<ApiClient> {
  const ip = await admin.json<{ password: string }>('POST', `/api/users/${bobId}/initial-password`, {});
  expect(ip.status).toBe(201);
  lastInitialPassword = ip.body.password;
  const p = new ApiClient(srv.url);
  const res = await fetch(`${srv.url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bob', password: ip.body.password }),
  });
  expect(res.status).toBe(200);
  p.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  p.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  return p;
}

async function until(p: ApiClient, id: string): Promise<Job> {
  for (;;) {
    const j = (await p.json<Job>('GET', `/api/portal/issuance/jobs/${id}`)).body;
    if (j.status !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('self-issuance in the user portal', () => {
  it('bound card: start, progress to the end, set the new PIN; the card is active with its certificates', async () => {
    const bind = await admin.json('POST', '/api/issuance', {
      userId: bobId,
      agentId: TEST_AGENT_ID,
      reader: 'Bound',
      action: 'bind',
      policyId,
    });
    expect(bind.status).toBe(202);
    const bob = await portalSession();
    const list = await bob.json<{ items: { reader: string; status: string }[] }>('GET', '/api/portal/cards');
    expect(list.body.items.find((c) => c.reader === 'Bound')?.status).toBe('bound');
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: TEST_AGENT_ID,
      reader: 'Bound',
    });
    expect(start.status).toBe(202);
    // The portal follows its job by server-sent events: several changes, the last one the end.
    const stream = await fetch(`${srv.url}/api/portal/issuance/jobs/${start.body.job.id}/events`, {
      headers: { cookie: bob.cookie! },
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    // The stream is hijacked past the app's hooks, yet carries the same security headers.
    expect(stream.headers.get('x-content-type-options')).toBe('nosniff');
    expect(stream.headers.get('x-frame-options')).toBe('DENY');
    const events = (await stream.text())
      .split('\n\n')
      .filter((e) => e.startsWith('event: job'))
      .map((e) => JSON.parse(e.split('data: ')[1]!) as Job);
    expect(events.length).toBeGreaterThan(1);
    // Each event is the job as GET returns it: the schema's fields, not the stored options (agent,
    // reader, PIN mode), who started it or the request.
    for (const e of events) expect(Object.keys(e).sort()).toEqual(Object.keys(JobSchema.properties).sort());
    expect(JSON.stringify(events)).not.toMatch(/startedBy|requestId|options|pinMode|Bound/);
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', progress: 100 });
    const done = await until(bob, start.body.job.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, pinChangePending: true });
    // The rules of the new PIN are the policy's, so the portal can check the PIN as it is typed.
    const rules = await bob.json<{ minLength: number; charset: string }>(
      'GET',
      `/api/portal/issuance/jobs/${done.id}/pin-policy`,
    );
    const policy = await admin.json<{ pinPolicy: unknown }>('GET', `/api/policies/${policyId}`);
    expect(rules.body).toEqual(policy.body.pinPolicy);
    expect(
      (
        await bob.json('POST', `/api/portal/issuance/jobs/${done.id}/pin`, {
          pin: '135790',
          confirmation: '135791',
        })
      ).status,
    ).toBe(400);
    // A reload finds the issuance that still waits for the PIN.
    const open = await bob.json<{ job: Job | null }>('GET', '/api/portal/issuance/open');
    expect(open.body.job).toMatchObject({ id: done.id, pinChangePending: true });
    const pin = await bob.json<Job>('POST', `/api/portal/issuance/jobs/${done.id}/pin`, {
      pin: '135790',
      confirmation: '135790',
    });
    expect(pin.status).toBe(200);
    expect(pin.body.pinChangePending).toBe(false);
    expect((await bob.json<{ job: Job | null }>('GET', '/api/portal/issuance/open')).body.job).toBeNull();
    const s = await PivSession.open(await cards.readers.connect('Bound'));
    await s.verifyPin('135790');
    expect(await s.getCertificate(0x9a)).toBeDefined();
    const device = await admin.json<{ state: string; userId: string }>(
      'GET',
      `/api/devices/${done.deviceId}`,
    );
    expect(device.body).toMatchObject({ state: 'active', userId: bobId });
    // The card issued to himself, bob has finished what his initial password was for: used up.
    const again = await fetch(`${srv.url}/api/portal/auth/initial-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: lastInitialPassword }),
    });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/already used/);
    // An operator session cannot use the portal's routes, and another person's job is not found.
    expect((await admin.json('GET', `/api/portal/issuance/jobs/${done.id}`)).status).toBe(403);
    expect((await admin.json('GET', `/api/portal/issuance/jobs/${done.id}/events`)).status).toBe(403);
  });

  it('a card that is not bound to this person is refused with a clear message', async () => {
    const bob = await portalSession();
    const r = await bob.json<{ error: { message: string } }>('POST', '/api/portal/issuance', {
      agentId: TEST_AGENT_ID,
      reader: 'Stranger',
    });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/not bound to you/);
  });

  it("an issuance the help desk runs for the person is not the portal's: not open, not found", async () => {
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', {
      ...settings,
      initialPinDisplayMode: 'not_displayed',
      changePinDuringIssuance: true,
    });
    try {
      const started = await admin.json<{ job: Job }>('POST', '/api/issuance', {
        userId: bobId,
        agentId: TEST_AGENT_ID,
        reader: 'Desk',
        action: 'issue',
        policyId,
      });
      expect(started.status).toBe(202);
      let job = started.body.job;
      while (job.status === 'running') {
        await new Promise((r) => setTimeout(r, 100));
        job = (await admin.json<Job>('GET', `/api/issuance/jobs/${job.id}`)).body;
      }
      // Waiting for the operator's PIN change: the operator's job, not the person's.
      expect(job).toMatchObject({ status: 'succeeded', pinChangePending: true });
      const bob = await portalSession();
      expect((await bob.json('GET', '/api/portal/issuance/open')).body).toEqual({ device: null, job: null });
      for (const path of ['', '/events', '/pin-policy'])
        expect((await bob.json('GET', `/api/portal/issuance/jobs/${job.id}${path}`)).status, path).toBe(404);
      expect((await bob.json('POST', `/api/portal/issuance/jobs/${job.id}/retry`)).status).toBe(404);
      const pin = { pin: '135790', confirmation: '135790' };
      expect((await bob.json('POST', `/api/portal/issuance/jobs/${job.id}/pin`, pin)).status).toBe(404);
      // The operator finishes it.
      expect((await admin.json('POST', `/api/issuance/jobs/${job.id}/pin`, pin)).status).toBe(200);
    } finally {
      await admin.json('PUT', '/api/settings', settings);
    }
  });

  it('Retry is refused when "issuance retry for user" is off and allowed when on', async () => {
    await admin.json('POST', '/api/issuance', {
      userId: bobId,
      agentId: TEST_AGENT_ID,
      reader: 'Stranger',
      action: 'bind',
      policyId,
    });
    const bob = await portalSession();
    const card = cards.readers.cardIn('Stranger')!;
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: TEST_AGENT_ID,
      reader: 'Stranger',
    });
    cards.readers.remove('Stranger');
    const failed = await until(bob, start.body.job.id);
    expect(failed.status).toBe('failed');
    const open = await bob.json<{ job: Job | null; device: { state: string } | null }>(
      'GET',
      '/api/portal/issuance/open',
    );
    expect(open.body).toMatchObject({
      job: { id: failed.id, status: 'failed' },
      device: { state: 'failed' },
    });
    cards.readers.insert('Stranger', card);
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: false });
    expect((await bob.json<{ issuanceRetryForUser: boolean }>('GET', '/api/portal/me')).body).toMatchObject({
      issuanceRetryForUser: false,
    });
    expect((await bob.json('POST', `/api/portal/issuance/jobs/${failed.id}/retry`)).status).toBe(403);
    await admin.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: true });
    expect((await bob.json<{ issuanceRetryForUser: boolean }>('GET', '/api/portal/me')).body).toMatchObject({
      issuanceRetryForUser: true,
    });
    expect((await bob.json('POST', `/api/portal/issuance/jobs/${failed.id}/retry`)).status).toBe(200);
    expect(await until(bob, failed.id)).toMatchObject({ status: 'succeeded', pinChangePending: true });
  });

  it("Retry takes the card where it is now: another reader of the person's own agent", async () => {
    await admin.json('POST', '/api/issuance', {
      userId: bobId,
      agentId: TEST_AGENT_ID,
      reader: 'Spare',
      action: 'bind',
      policyId,
    });
    const bob = await portalSession();
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: TEST_AGENT_ID,
      reader: 'Spare',
    });
    expect(start.status).toBe(202);
    const card = cards.readers.remove('Spare')!;
    const failed = await until(bob, start.body.job.id);
    expect(failed.status).toBe('failed');
    cards.readers.insert('Other', card);
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: true });
    const retry = (body: unknown) => bob.json(`POST`, `/api/portal/issuance/jobs/${failed.id}/retry`, body);
    // Both or neither, and nothing else.
    expect((await retry({ agentId: TEST_AGENT_ID })).status).toBe(400);
    expect((await retry({ reader: 'Other' })).status).toBe(400);
    expect((await retry({ agentId: TEST_AGENT_ID, reader: 'Other', userId: bobId })).status).toBe(400);
    expect((await retry({ agentId: 'not-a-uuid', reader: 'Other' })).status).toBe(400);
    owners.length = 0;
    const r = await retry({ agentId: TEST_AGENT_ID, reader: 'Other' });
    expect(r.status).toBe(200);
    // The card was looked for in the readers of bob's own agents, not anyone else's.
    expect(owners).toEqual([{ owner: bobId, reader: 'Other' }]);
    expect(await until(bob, failed.id)).toMatchObject({ status: 'succeeded', pinChangePending: true });
    const s = await PivSession.open(await cards.readers.connect('Other'));
    expect(await s.getCertificate(0x9a)).toBeDefined();
  });
});
