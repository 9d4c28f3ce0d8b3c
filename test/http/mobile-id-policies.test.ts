// Mobile ID policies over the API (reference 004, "Options"): an administrator creates, reads,
// changes and deletes them; each is checked against its device policy (for mobile devices, the
// chosen certificates among its profiles, a key-management profile when the encryption key is
// recovered, known placeholders in the properties) with every problem named; changes are audited;
// a policy something was ordered under cannot be deleted. Help desk may read, not write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Policy = { id: string; name: string; deviceTypes: string[]; credentialProfiles: { name: string }[] };
type MobilePolicy = Record<string, unknown> & { id: string; version: number; name: string };
type Err = { error: { code: string; message: string } };

let srv: TestServer;
let admin: ApiClient;
let mobile: Policy;
let cardOnly: Policy;

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = new ApiClient(srv.url);
  expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
  const policies = (await admin.json<{ items: Policy[] }>('GET', '/api/policies')).body.items;
  mobile = policies.find((p) => p.deviceTypes.includes('mobile'))!;
  cardOnly = policies.find((p) => !p.deviceTypes.includes('mobile'))!;
}, 120_000);
afterAll(async () => srv?.close());

const input = (over: Record<string, unknown> = {}) => ({
  name: 'Phones: authentication and signature',
  description: 'For staff phones',
  devicePolicyId: mobile.id,
  profiles: ['PIV Authentication', 'Digital Signature'],
  qrDelivery: 'portal',
  validityDays: 90,
  properties: [
    { name: 'server', value: '${server}' },
    { name: 'userId', value: '${username}' },
  ],
  recoverKey: false,
  notify: 'both',
  enabled: true,
  ...over,
});

describe('mobile ID policies', () => {
  it('are created, listed, read, changed (version, audit) and deleted while unused', async () => {
    const created = await admin.json<MobilePolicy>('POST', '/api/mobile-id-policies', input());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...input(), version: 1 });
    const list = await admin.json<{ items: MobilePolicy[] }>('GET', '/api/mobile-id-policies');
    expect(list.body.items.map((p) => p.id)).toContain(created.body.id);
    const changed = await admin.json<MobilePolicy>(
      'PUT',
      `/api/mobile-id-policies/${created.body.id}`,
      input({ qrDelivery: 'email', notify: 'failure', validityDays: 30 }),
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      qrDelivery: 'email',
      notify: 'failure',
      validityDays: 30,
      version: 2,
    });
    expect((await admin.json('GET', `/api/mobile-id-policies/${created.body.id}`)).body).toEqual(
      changed.body,
    );
    const dup = await admin.json<Err>('POST', '/api/mobile-id-policies', input());
    expect(dup.status).toBe(409);
    const audit = await srv.rt.db.query<{ action: string; details: string }>(
      "SELECT action, details::text AS details FROM audit_events WHERE target_type = 'mobile_id_policy' AND target_id = $1 ORDER BY seq",
      [created.body.id],
    );
    expect(audit.map((a) => a.action)).toEqual(['mobile_id_policy.created', 'mobile_id_policy.updated']);
    expect(JSON.parse(audit[1]!.details).changed.sort()).toEqual(['notify', 'qrDelivery', 'validityDays']);
    expect((await admin.call('DELETE', `/api/mobile-id-policies/${created.body.id}`)).status).toBe(204);
    expect((await admin.json('GET', `/api/mobile-id-policies/${created.body.id}`)).status).toBe(404);
  });

  it('refuses a policy that does not fit its device policy, naming every problem', async () => {
    const r = await admin.json<Err>(
      'POST',
      '/api/mobile-id-policies',
      input({
        profiles: ['PIV Authentication', 'No Such Profile', 'PIV Authentication'],
        recoverKey: true,
        properties: [{ name: 'x', value: '${password}' }],
      }),
    );
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/no credential profile "No Such Profile"/);
    expect(r.body.error.message).toMatch(/"PIV Authentication" is chosen twice/);
    expect(r.body.error.message).toMatch(/needs a key-management profile/);
    expect(r.body.error.message).toMatch(/\$\{password\} is unknown/);
    const card = await admin.json<Err>(
      'POST',
      '/api/mobile-id-policies',
      input({ devicePolicyId: cardOnly.id, profiles: [cardOnly.credentialProfiles[0]!.name] }),
    );
    expect(card.status).toBe(400);
    expect(card.body.error.message).toMatch(/not for mobile devices/);
    for (const bad of [
      { validityDays: 0 },
      { qrDelivery: 'fax' },
      { notify: 'sometimes' },
      { profiles: [] },
      { extra: 1 },
    ])
      expect((await admin.json('POST', '/api/mobile-id-policies', input(bad))).status).toBe(400);
  });

  it('the help desk reads them but cannot change them', async () => {
    const help = new ApiClient(srv.url);
    expect((await help.login('hannah.help', srv.demoPassword!)).status).toBe(200);
    expect((await help.json('GET', '/api/mobile-id-policies')).status).toBe(200);
    expect((await help.json('POST', '/api/mobile-id-policies', input({ name: 'Nope' }))).status).toBe(403);
  });
});
