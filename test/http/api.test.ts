// HTTP contract tests against a real listening server: the error shape, sessions, CSRF, RBAC,
// and bad input for every route family.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Err = {
  error: { code: string; message: string; correlationId: string; details?: Record<string, unknown> };
};

const PACKAGE_VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

let srv: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  srv = await startTestServer({ demo: true, config: { loginMaxFailures: 3 } });
  admin = new ApiClient(srv.url);
  expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
});
afterAll(async () => srv?.close());

const expectError = (r: { status: number; body: unknown }, status: number, code: string) => {
  expect(r.status).toBe(status);
  const e = (r.body as Err).error;
  expect(e.code).toBe(code);
  expect(e.message.length).toBeGreaterThan(5);
  expect(e.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  return e;
};

describe('service endpoints', () => {
  it('health, readiness, meta and the OpenAPI document', async () => {
    expect(await (await fetch(`${srv.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${srv.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect(await (await fetch(`${srv.url}/api/meta`)).json()).toMatchObject({
      demo: true,
      version: PACKAGE_VERSION,
    });
    const doc = (await (await fetch(`${srv.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/users', '/api/devices/import', '/api/policies/{id}', '/api/settings']),
    );
    const docs = await fetch(`${srv.url}/api/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('unknown API routes answer in the error shape', async () => {
    expectError(await admin.json('GET', '/api/nope'), 404, 'not_found');
  });
});

describe('sessions', () => {
  it('refuses calls without a session, with a wrong password, and delays sign-in after repeated failures', async () => {
    expectError(await new ApiClient(srv.url).json('GET', '/api/users'), 401, 'unauthenticated');
    const c = new ApiClient(srv.url);
    const bad = await c.login('hannah.help', 'Guess-9731');
    expect(bad.status).toBe(401);
    const badBody = (await bad.json()) as Err;
    expect(JSON.stringify(badBody)).not.toContain('Guess-9731');
    await c.login('hannah.help', 'Guess-9732');
    await c.login('hannah.help', 'Guess-9733');
    // Delayed (decision 0022): the right password gets the wrong one's answer.
    const delayed = await c.login('hannah.help', srv.demoPassword!);
    expect(delayed.status).toBe(401);
    const { correlationId: _a, ...shown } = ((await delayed.json()) as Err).error;
    const { correlationId: _b, ...expected } = badBody.error;
    expect(shown).toEqual(expected);
  });

  it('sets an HttpOnly SameSite=Strict cookie, requires the CSRF header, and logs out', async () => {
    const c = new ApiClient(srv.url);
    const res = await c.login('ivan.issuer', srv.demoPassword!);
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(res.headers.get('set-cookie')).toMatch(/SameSite=Strict/);
    const me = await c.json<{ user: { permissions: string[] } }>('GET', '/api/auth/session');
    expect(me.body.user.permissions).toContain('device.register');
    const noCsrf = await c.call(
      'POST',
      '/api/devices',
      { serial: 'CSRF-1', type: 'piv_card' },
      { 'x-csrf-token': 'nope' },
    );
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as Err).error.code).toBe('csrf_failed');
    expect((await c.call('POST', '/api/auth/logout')).status).toBe(204);
    expectError(await c.json('GET', '/api/auth/session'), 401, 'unauthenticated');
  });

  it('an idle session expires', async () => {
    const c = new ApiClient(srv.url);
    await c.login('vera.valid', srv.demoPassword!);
    // Two hours before the server's clock (not the database's now(): the two need not agree).
    await srv.rt.db.query(
      `UPDATE sessions SET last_seen_at = $1 WHERE user_id = (SELECT id FROM users WHERE username = 'vera.valid')`,
      [new Date(srv.rt.clock.now().getTime() - 2 * 3_600_000)],
    );
    expectError(await c.json('GET', '/api/auth/session'), 401, 'unauthenticated');
  });
});

describe('RBAC', () => {
  it('denies what a role does not allow and allows what it does', async () => {
    const user = new ApiClient(srv.url);
    await user.login('alice', srv.demoPassword!);
    expectError(await user.json('GET', '/api/users'), 403, 'forbidden');
    const helpdesk = new ApiClient(srv.url);
    await helpdesk.login('carol', srv.demoPassword!);
    expectError(await helpdesk.json('PUT', '/api/settings', {}), 403, 'forbidden');
    const issuer = new ApiClient(srv.url);
    await issuer.login('ivan.issuer', srv.demoPassword!);
    expect((await issuer.json('GET', '/api/devices')).status).toBe(200);
    expectError(
      await issuer.json('POST', '/api/users', { username: 'x1', displayName: 'X' }),
      403,
      'forbidden',
    );
  });
});

describe('users', () => {
  it('create, read, edit, search with pagination, lifecycle, and the audit trail', async () => {
    const created = await admin.json<{ id: string; roles: string[] }>('POST', '/api/users', {
      username: 'dora',
      displayName: 'Dora Diaz',
      email: 'dora@example.org',
      roles: ['user', 'helpdesk'],
      properties: { employeeId: 'E-77' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await admin.json('PATCH', `/api/users/${id}`, { displayName: 'Dora D.' })).body).toMatchObject({
      displayName: 'Dora D.',
    });
    const page = await admin.json<{ items: unknown[]; total: number }>('GET', '/api/users?limit=2&offset=0');
    expect(page.body.items).toHaveLength(2);
    expect(page.body.total).toBeGreaterThan(2);
    expect((await admin.json<{ total: number }>('GET', '/api/users?q=dora')).body.total).toBe(1);
    expect((await admin.json('POST', `/api/users/${id}/suspend`, { reason: 'leave' })).body).toMatchObject({
      state: 'suspended',
    });
    expectError(await admin.json('POST', `/api/users/${id}/suspend`, {}), 409, 'illegal_transition');
    expect((await admin.json('POST', `/api/users/${id}/reactivate`, {})).body).toMatchObject({
      state: 'active',
    });
    expect((await admin.json('POST', `/api/users/${id}/terminate`, {})).body).toMatchObject({
      state: 'terminated',
    });
    expectError(await admin.json('POST', `/api/users/${id}/reactivate`, {}), 409, 'illegal_transition');
    const audit = await admin.json<{ items: { action: string }[] }>(
      'GET',
      `/api/audit?targetType=user&targetId=${id}`,
    );
    expect(audit.body.items.map((e) => e.action)).toEqual([
      'user.terminated',
      'user.reactivated',
      'user.suspended',
      'user.updated',
      'user.created',
    ]);
  });

  it('bad input: malformed JSON, wrong types, unknown fields, over-long strings, unknown ids, duplicates', async () => {
    const malformed = await admin.call('POST', '/api/users', '{"username": "x",');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as Err).error.code).toBe('validation_failed');
    expectError(
      await admin.json('POST', '/api/users', { username: 42, displayName: 'X' }),
      400,
      'validation_failed',
    );
    const unknown = expectError(
      await admin.json('POST', '/api/users', { username: 'ok1', displayName: 'X', isRoot: true }),
      400,
      'validation_failed',
    );
    expect(unknown.message).toContain('isRoot');
    expectError(
      await admin.json('POST', '/api/users', { username: 'ok2', displayName: 'X'.repeat(500) }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('POST', '/api/users', { username: 'ok3', displayName: 'X', roles: ['root'] }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('POST', '/api/users', { username: '-bad name', displayName: 'X' }),
      400,
      'validation_failed',
    );
    expectError(await admin.json('GET', '/api/users/00000000-0000-4000-8000-000000000000'), 404, 'not_found');
    expectError(await admin.json('GET', '/api/users/not-a-uuid'), 400, 'validation_failed');
    expectError(
      await admin.json('POST', '/api/users', { username: 'ALICE', displayName: 'Dup' }),
      409,
      'conflict',
    );
    expect((await admin.json<{ total: number }>('GET', '/api/users?q=ok')).body.total).toBe(0);
  });
});

describe('devices', () => {
  it('registers one device, refuses a duplicate serial, and imports CSV with a per-row report', async () => {
    const d = await admin.json<{ id: string; state: string }>('POST', '/api/devices', {
      serial: 'PIV-100',
      type: 'piv_card',
      model: 'Test card',
    });
    expect(d.status).toBe(201);
    expect(d.body.state).toBe('inventory');
    expectError(
      await admin.json('POST', '/api/devices', { serial: 'piv-100', type: 'piv_card' }),
      409,
      'conflict',
    );
    expectError(
      await admin.json('POST', '/api/devices', { serial: 'PIV-101', type: 'floppy' }),
      400,
      'validation_failed',
    );
    const csv =
      'serial,type,model\nPIV-200,piv_card,A\nPIV-100,piv_card,dup in db\nPIV-201,usb,bad type\nPIV-200,piv_token,dup in file\n,piv_card,\nPIV-202,piv_token,B\n';
    const r = await admin.json<{
      created: number;
      refused: number;
      rows: { line: number; status: string; error?: string }[];
    }>('POST', '/api/devices/import', { csv });
    expect(r.status).toBe(200);
    expect(r.body.created).toBe(2);
    expect(r.body.refused).toBe(4);
    expect(r.body.rows.map((x) => [x.line, x.status])).toEqual([
      [2, 'created'],
      [3, 'refused'],
      [4, 'refused'],
      [5, 'refused'],
      [6, 'refused'],
      [7, 'created'],
    ]);
    expect(r.body.rows[2]!.error).toMatch(/device type/);
    expect(r.body.rows[3]!.error).toMatch(/line 2/);
    expectError(
      await admin.json('POST', '/api/devices/import', { csv: 'foo,bar\n1,2' }),
      400,
      'validation_failed',
    );
    expect((await admin.json<{ total: number }>('GET', '/api/devices?q=PIV-20')).body.total).toBe(2);
    expectError(
      await admin.json('GET', '/api/devices/00000000-0000-4000-8000-000000000000'),
      404,
      'not_found',
    );
  });
});

describe('policies and settings', () => {
  it('edits a policy, refuses an invalid one with every problem named, and keeps the old version', async () => {
    const list = await admin.json<{ items: { id: string; name: string; version: number }[] }>(
      'GET',
      '/api/policies',
    );
    const p = list.body.items[0]!;
    const full = (await admin.json<Record<string, unknown>>('GET', `/api/policies/${p.id}`)).body;
    const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...body } = full;
    const pinPolicy = { ...(body.pinPolicy as object), minLength: 7 };
    const saved = await admin.json<{ version: number; pinPolicy: { minLength: number } }>(
      'PUT',
      `/api/policies/${p.id}`,
      { ...body, pinPolicy },
    );
    expect(saved.status).toBe(200);
    expect(saved.body.pinPolicy.minLength).toBe(7);
    expect(saved.body.version).toBe(p.version + 1);
    const bad = expectError(
      await admin.json('PUT', `/api/policies/${p.id}`, {
        ...body,
        pinPolicy: { ...pinPolicy, minLength: 9, maxLength: 6 },
        credentialProfiles: [
          {
            name: 'A',
            slot: '9c',
            keyAlgorithm: 'RSA2048',
            certificateProfile: 'piv_authentication',
            validityDays: 30,
            archiveKey: true,
          },
        ],
      }),
      400,
      'validation_failed',
    );
    expect(bad.message).toMatch(/slot 9A/);
    expect(bad.message).toMatch(/PIN policy/);
    expect((await admin.json<{ version: number }>('GET', `/api/policies/${p.id}`)).body.version).toBe(
      p.version + 1,
    );
    expectError(await admin.json('POST', '/api/policies', { ...body, name: p.name }), 409, 'conflict');
  });

  it('reads and writes the security settings', async () => {
    const s = await admin.json<Record<string, unknown>>('GET', '/api/settings');
    expect(s.body).toMatchObject({ initialPinDisplayMode: 'disguised', issuanceRetryForUser: true });
    const next = {
      ...s.body,
      initialPinDisplayMode: 'not_displayed',
      changePinDuringIssuance: true,
      securityQuestionCount: 4,
    };
    expect((await admin.json('PUT', '/api/settings', next)).body).toEqual(next);
    expectError(
      await admin.json('PUT', '/api/settings', { ...next, portalAuthMethods: [] }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/settings', { ...next, initialPinDisplayMode: 'shouted' }),
      400,
      'validation_failed',
    );
    expect((await admin.json('GET', '/api/settings')).body).toEqual(next);
  });
});

describe('audit', () => {
  it('the whole history verifies and no secret is in it', async () => {
    const v = await admin.json<{ ok: boolean; checked: number }>('GET', '/api/audit/verify');
    expect(v.body.ok).toBe(true);
    const rows = await srv.rt.db.query<{ details: unknown }>('SELECT details FROM audit_events');
    const all = JSON.stringify(rows);
    expect(all).not.toContain(srv.admin.password);
    expect(all).not.toContain(srv.demoPassword!);
    expect(all).not.toMatch(/scrypt\$/);
  });
});
