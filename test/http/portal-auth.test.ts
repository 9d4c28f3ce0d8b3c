// HTTP contract tests for the user-portal authentication API, the security question list, initial
// passwords and the directory routes, against a real listening server (and a real slapd for the
// directory password). Also: portal and operator sessions kept apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  freePort,
  opensslAvailable,
  directoryConfig,
  personDn,
  personLdif,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  type Slapd,
} from '../support/slapd.js';

type Err = {
  error: { code: string; message: string; correlationId: string; details?: Record<string, unknown> };
};
type Start = { methods: string[]; questions?: { id: string; text: string }[] };
type SignIn = {
  user: { id: string; permissions: string[]; roles: string[] };
  csrfToken: string;
  mustSetQuestions: boolean;
};

let srv: TestServer;
let admin: ApiClient;
let helpdesk: ApiClient;
let questionIds: string[];

const expectError = (r: { status: number; body: unknown }, status: number, code: string) => {
  expect(r.status).toBe(status);
  const e = (r.body as Err).error;
  expect(e.code).toBe(code);
  expect(e.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  return e;
};

/** Signs in to the user portal; on success the client holds the portal cookie and CSRF token. */
async function portalSignIn(
  c: ApiClient,
  method: 'initial-password' | 'directory-password' | 'security-questions',
  body: unknown,
): Promise<{ status: number; body: SignIn & Err; cookie: string | null }> {
  const res = await fetch(`${srv.url}/api/portal/auth/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as SignIn & Err;
  const cookie = res.headers.get('set-cookie');
  if (res.ok) {
    c.cookie = (cookie ?? '').split(';')[0] ?? '';
    c.csrf = json.csrfToken;
  }
  return { status: res.status, body: json, cookie };
}

const start = (username: unknown) =>
  new ApiClient(srv.url).json<Start>('POST', '/api/portal/auth/start', { username });

async function createUser(username: string): Promise<string> {
  const r = await admin.json<{ id: string }>('POST', '/api/users', { username, displayName: username });
  expect(r.status).toBe(201);
  return r.body.id;
}

async function issue(c: ApiClient, userId: string): Promise<string> {
  const r = await c.json<{ password: string }>('POST', `/api/users/${userId}/initial-password`, {});
  expect(r.status).toBe(201);
  return r.body.password;
}

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = new ApiClient(srv.url);
  expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
  helpdesk = new ApiClient(srv.url);
  expect((await helpdesk.login('hannah.help', srv.demoPassword!)).status).toBe(200);
  const settings = await admin.json<Record<string, unknown>>('GET', '/api/settings');
  const put = await admin.json('PUT', '/api/settings', {
    ...settings.body,
    portalAuthMethods: ['initial_password', 'directory_password', 'security_questions'],
    securityQuestionCount: 2,
  });
  expect(put.status).toBe(200);
}, 240_000);
afterAll(async () => srv?.close());

describe('security question list', () => {
  it('an administrator defines it; bad input and other roles are refused', async () => {
    const put = await admin.json<{ items: { id: string; text: string; active: boolean }[] }>(
      'PUT',
      '/api/security-questions',
      {
        items: [
          { text: 'What was the name of your first pet?', active: true },
          { text: 'In which town were you born?', active: true },
          { text: 'What is your favourite meal?', active: true },
          { text: 'An old question?', active: false },
        ],
      },
    );
    expect(put.status).toBe(200);
    expect(put.body.items.map((q) => q.active)).toEqual([true, true, true, false]);
    questionIds = put.body.items.map((q) => q.id);
    const get = await admin.json<{ items: unknown[] }>('GET', '/api/security-questions');
    expect(get.body.items).toEqual(put.body.items);
    expectError(
      await admin.json('PUT', '/api/security-questions', { items: [], extra: 1 }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/security-questions', {
        items: [{ text: 'x'.repeat(201), active: true }],
      }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/security-questions', {
        items: [{ text: 'A good question?', active: 'yes' }],
      }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/security-questions', {
        items: [{ id: 'not-a-uuid', text: 'Hello there?', active: true }],
      }),
      400,
      'validation_failed',
    );
    expectError(await helpdesk.json('PUT', '/api/security-questions', { items: [] }), 403, 'forbidden');
  });
});

describe('initial passwords', () => {
  it('the help desk issues one, shown once and not cached; bad input is refused', async () => {
    const id = await createUser('uma.user');
    const res = await helpdesk.call('POST', `/api/users/${id}/initial-password`, {});
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { password: string; expiresAt: string; delivery: string };
    expect(body.delivery).toBe('displayed');
    expect(body.password).toMatch(/^[\w-]{19}$/);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 71 * 3_600_000);
    const audit = await admin.json<{ items: { action: string; details: unknown }[] }>(
      'GET',
      `/api/audit?targetId=${id}&action=initial_password.issued`,
    );
    expect(audit.body.items).toHaveLength(1);
    expect(JSON.stringify(audit.body)).not.toContain(body.password);
    expectError(
      await helpdesk.json('POST', '/api/users/00000000-0000-4000-8000-000000000000/initial-password', {}),
      404,
      'not_found',
    );
    expectError(
      await helpdesk.json('POST', '/api/users/nope/initial-password', {}),
      400,
      'validation_failed',
    );
    expectError(
      await helpdesk.json('POST', `/api/users/${id}/initial-password`, { password: 'mine' }),
      400,
      'validation_failed',
    );
    const vera = new ApiClient(srv.url);
    await vera.login('vera.valid', srv.demoPassword!);
    expectError(await vera.json('POST', `/api/users/${id}/initial-password`, {}), 403, 'forbidden');
  });
});

describe('portal sign-in', () => {
  let umaId: string;
  let umaPassword: string;
  let portal: ApiClient;

  beforeAll(async () => {
    portal = new ApiClient(srv.url);
    umaId = await createUser('uma.portal');
    umaPassword = await issue(helpdesk, umaId);
  });

  it('start: the offered methods, the same for a real and an unknown name; injection attempts too', async () => {
    const uma = await start('uma.portal');
    expect(uma.status).toBe(200);
    const unknown = await start('nobody.here');
    expect(unknown.status).toBe(200);
    // A real person without answers (holding an initial password) and an unknown name: the same
    // methods — what the settings offer and can serve — and as many questions, nothing else.
    for (const r of [uma, unknown]) {
      expect(Object.keys(r.body).sort()).toEqual(['methods', 'questions']);
      expect(r.body.methods).toEqual(['initial_password', 'security_questions']);
      expect(r.body.questions).toHaveLength(2);
    }
    // Stable: asking again gives the same decoy questions.
    expect((await start('NOBODY.here')).body).toEqual(unknown.body);
    expect((await start('uma.portal')).body).toEqual(uma.body);
    for (const evil of ['*)(uid=*', "x' OR '1'='1", '../../etc/passwd'])
      expect(Object.keys((await start(evil)).body).sort()).toEqual(['methods', 'questions']);
    expectError(await start(''), 400, 'validation_failed');
    expectError(await start('u'.repeat(129)), 400, 'validation_failed');
    expectError(await start(42), 400, 'validation_failed');
    expectError(
      await new ApiClient(srv.url).json('POST', '/api/portal/auth/start', { username: 'a', extra: true }),
      400,
      'validation_failed',
    );
  });

  it('initial password: wrong and unknown refused alike; good opens a portal session with self-service rights only', async () => {
    const wrong = await portalSignIn(new ApiClient(srv.url), 'initial-password', {
      username: 'uma.portal',
      password: 'wrong-one',
    });
    const unknown = await portalSignIn(new ApiClient(srv.url), 'initial-password', {
      username: 'nobody.here',
      password: 'wrong-one',
    });
    expectError(wrong, 401, 'unauthenticated');
    expectError(unknown, 401, 'unauthenticated');
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'initial-password', {
        username: 'uma.portal',
        password: 'x'.repeat(257),
      }),
      400,
      'validation_failed',
    );
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'initial-password', {
        username: 'uma.portal',
        password: umaPassword,
        otp: 1,
      }),
      400,
      'validation_failed',
    );
    const ok = await portalSignIn(portal, 'initial-password', {
      username: 'uma.portal',
      password: umaPassword,
    });
    expect(ok.status).toBe(200);
    expect(ok.cookie).toMatch(/tessera_session=.*HttpOnly.*SameSite=Strict/);
    expect(ok.body.mustSetQuestions).toBe(true);
    expect(ok.body.user.permissions.every((p) => p.startsWith('self.'))).toBe(true);
    // Not used up yet: a browser closed before the answers were set signs in again with it.
    const again = await portalSignIn(new ApiClient(srv.url), 'initial-password', {
      username: 'uma.portal',
      password: umaPassword,
    });
    expect(again.status).toBe(200);
    expect(again.body.mustSetQuestions).toBe(true);
    const session = await portal.json<{ user: { permissions: string[] } }>('GET', '/api/auth/session');
    expect(session.body.user.permissions).toEqual(['self.read', 'self.issue', 'self.incident']);
  });

  it('the portal session sets security answers (CSRF checked, bad input refused) and reads "me"', async () => {
    const st = await portal.json<{
      required: number;
      available: unknown[];
      answered: unknown[];
      mustSet: boolean;
    }>('GET', '/api/portal/security-questions');
    expect(st.body).toMatchObject({ required: 2, answered: [], mustSet: true });
    expect(st.body.available).toHaveLength(3);
    const answers = [
      { questionId: questionIds[0], answer: 'Toto' },
      { questionId: questionIds[1], answer: 'Saint Malo' },
    ];
    const noCsrf = await portal.call(
      'POST',
      '/api/portal/security-questions',
      { answers },
      { 'x-csrf-token': 'nope' },
    );
    expect(noCsrf.status).toBe(403);
    expectError(
      await portal.json('POST', '/api/portal/security-questions', { answers: [answers[0]] }),
      400,
      'validation_failed',
    );
    expectError(
      await portal.json('POST', '/api/portal/security-questions', {
        answers: [answers[0], { questionId: questionIds[3], answer: 'Old one' }],
      }),
      400,
      'validation_failed',
    );
    expectError(
      await portal.json('POST', '/api/portal/security-questions', {
        answers: [answers[0], { questionId: questionIds[1], answer: 'x'.repeat(257) }],
      }),
      400,
      'validation_failed',
    );
    expectError(
      await portal.json('POST', '/api/portal/security-questions', {
        answers: [{ questionId: questionIds[0], answer: 1 }],
      }),
      400,
      'validation_failed',
    );
    const set = await portal.json<{ mustSet: boolean; answered: { id: string }[] }>(
      'POST',
      '/api/portal/security-questions',
      {
        answers,
      },
    );
    expect(set.status).toBe(200);
    expect(set.body.mustSet).toBe(false);
    expect(JSON.stringify(set.body)).not.toMatch(/toto|malo/i);
    // The answers set, the initial password is used up, and the one who knows it is told so.
    const used = await portalSignIn(new ApiClient(srv.url), 'initial-password', {
      username: 'uma.portal',
      password: umaPassword,
    });
    expectError(used, 401, 'unauthenticated');
    expect(used.body.error.message).toMatch(/already used.*security answers.*help desk/);
    const guess = await portalSignIn(new ApiClient(srv.url), 'initial-password', {
      username: 'uma.portal',
      password: 'Abcd-Efgh-Jkmn-Pqrs',
    });
    expectError(guess, 401, 'unauthenticated');
    expect(guess.body.error.message).not.toMatch(/already used/);
    const me = await portal.json<{
      user: { username: string };
      devices: unknown[];
      securityQuestions: unknown;
    }>('GET', '/api/portal/me');
    expect(me.status).toBe(200);
    expect(me.body.user.username).toBe('uma.portal');
    expect(me.body.devices).toEqual([]);
    expect(me.body.securityQuestions).toEqual({ required: 2, answered: 2, mustSet: false });
  });

  it('security questions: answers match ignoring case and spaces; after 5 wrong, even the right ones are refused alike', async () => {
    const s = await start('uma.portal');
    // With answers: the person's own questions.
    expect(s.body.methods).toEqual(['initial_password', 'security_questions']);
    expect(s.body.questions!.map((q) => q.id)).toEqual([questionIds[0], questionIds[1]]);
    for (const variant of ['TOTO', 'toto', 'T o t o', 'TotO']) {
      const r = await portalSignIn(new ApiClient(srv.url), 'security-questions', {
        username: 'uma.portal',
        answers: [
          { questionId: questionIds[0], answer: variant },
          { questionId: questionIds[1], answer: 'SAINTMALO' },
        ],
      });
      expect(r.status).toBe(200);
    }
    const wrong = {
      username: 'uma.portal',
      answers: [
        { questionId: questionIds[0], answer: 'toto' },
        { questionId: questionIds[1], answer: 'Paris' },
      ],
    };
    for (let i = 0; i < 5; i++)
      expectError(
        await portalSignIn(new ApiClient(srv.url), 'security-questions', wrong),
        401,
        'unauthenticated',
      );
    const locked = await portalSignIn(new ApiClient(srv.url), 'security-questions', {
      ...wrong,
      answers: [wrong.answers[0], { questionId: questionIds[1], answer: 'saint malo' }],
    });
    // Delayed (decision 0022): the right answers get the wrong ones' answer.
    expectError(locked, 401, 'unauthenticated');
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'security-questions', {
        username: 'uma.portal',
        answers: [{ questionId: 'x', answer: 'y' }],
      }),
      400,
      'validation_failed',
    );
  });

  it('portal and operator sessions are kept apart, even for a person with operator roles', async () => {
    const hannah = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=hannah.help')).body
      .items[0]!;
    const pw = await issue(admin, hannah.id);
    const p = new ApiClient(srv.url);
    const r = await portalSignIn(p, 'initial-password', { username: 'hannah.help', password: pw });
    expect(r.status).toBe(200);
    expect(r.body.user.roles).toContain('helpdesk');
    expect(r.body.user.permissions).not.toContain('user.read');
    const e = expectError(await p.json('GET', '/api/users'), 403, 'forbidden');
    expect(e.details).toMatchObject({ sessionKind: 'portal' });
    expectError(await p.json('POST', `/api/users/${hannah.id}/initial-password`, {}), 403, 'forbidden');
    expectError(await p.json('GET', '/api/security-questions'), 403, 'forbidden');
    expect((await p.json('GET', '/api/portal/me')).status).toBe(200);
    // An operator session is not a portal session.
    expectError(await helpdesk.json('GET', '/api/portal/me'), 403, 'forbidden');
    expectError(
      await helpdesk.json('POST', '/api/portal/security-questions', {
        answers: [{ questionId: questionIds[0], answer: 'Toto' }],
      }),
      403,
      'forbidden',
    );
    expectError(await new ApiClient(srv.url).json('GET', '/api/portal/me'), 401, 'unauthenticated');
    // Signing out ends the portal session.
    expect((await p.call('POST', '/api/auth/logout')).status).toBe(204);
    expectError(await p.json('GET', '/api/portal/me'), 401, 'unauthenticated');
  });

  it('security answers are not asked for while the portal does not offer them', async () => {
    const settings = await admin.json<Record<string, unknown>>('GET', '/api/settings');
    const id = await createUser('nell.noquestions');
    const pw = await issue(helpdesk, id);
    await admin.json('PUT', '/api/settings', { ...settings.body, portalAuthMethods: ['initial_password'] });
    try {
      expect(await start('nell.noquestions')).toMatchObject({ body: { methods: ['initial_password'] } });
      const p = new ApiClient(srv.url);
      const r = await portalSignIn(p, 'initial-password', { username: 'nell.noquestions', password: pw });
      expect(r.status).toBe(200);
      expect(r.body.mustSetQuestions).toBe(false);
      const me = await p.json<{ securityQuestions: unknown }>('GET', '/api/portal/me');
      expect(me.body.securityQuestions).toEqual({ required: 2, answered: 0, mustSet: false });
    } finally {
      await admin.json('PUT', '/api/settings', settings.body);
    }
  });

  it('a suspended person cannot sign in; a method the settings do not offer is refused', async () => {
    const id = await createUser('sid.suspended');
    const pw = await issue(helpdesk, id);
    expect((await admin.json('POST', `/api/users/${id}/suspend`, {})).status).toBe(200);
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'initial-password', {
        username: 'sid.suspended',
        password: pw,
      }),
      401,
      'unauthenticated',
    );
    expect((await admin.json('POST', `/api/users/${id}/reactivate`, {})).status).toBe(200);
    const settings = await admin.json<Record<string, unknown>>('GET', '/api/settings');
    await admin.json('PUT', '/api/settings', { ...settings.body, portalAuthMethods: ['security_questions'] });
    expect((await start('sid.suspended')).body.methods).toEqual(['security_questions']);
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'initial-password', {
        username: 'sid.suspended',
        password: pw,
      }),
      401,
      'unauthenticated',
    );
    await admin.json('PUT', '/api/settings', settings.body);
    expect(
      (
        await portalSignIn(new ApiClient(srv.url), 'initial-password', {
          username: 'sid.suspended',
          password: pw,
        })
      ).status,
    ).toBe(200);
  });
});

describe.skipIf(!slapdAvailable)('directory routes and the directory password (slapd)', () => {
  let slapd: Slapd;
  const body = (url: string, extra: Record<string, unknown> = {}) =>
    directoryConfig(url, {
      groupRoles: [{ group: `cn=desk,ou=groups,${SUFFIX}`, roles: ['helpdesk'] }],
      timeoutSeconds: 3,
      ...extra,
    });
  beforeAll(async () => {
    slapd = await startSlapd();
    slapd.add(
      `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
    );
    slapd.add(
      [
        personLdif({ uid: 'lena.ldap', cn: 'Lena Ldap', employeeNumber: 'E7', password: 'Lena-Pass-7' }),
        personLdif({ uid: 'otto.ldap', cn: 'Otto Ldap', password: 'Otto-Pass-8' }),
      ].join('\n'),
    );
    slapd.add(
      `dn: cn=desk,ou=groups,${SUFFIX}\nobjectClass: groupOfNames\ncn: desk\nmember: ${personDn('otto.ldap')}\n`,
    );
  }, 120_000);
  afterAll(async () => slapd?.stop());

  it('configures (bind password write-only), tests and syncs the directory', async () => {
    const before = await admin.json<{ configured: boolean }>('GET', '/api/directory');
    expect(before.body.configured).toBe(false);
    const put = await admin.json<Record<string, unknown>>('PUT', '/api/directory', {
      ...body(slapd.url),
      bindPassword: ROOT_PW,
    });
    expect(put.status).toBe(200);
    expect(put.body.hasBindPassword).toBe(true);
    expect(put.body).not.toHaveProperty('bindPassword');
    const got = await admin.json<Record<string, unknown>>('GET', '/api/directory');
    expect(JSON.stringify(got.body)).not.toContain(ROOT_PW);
    expectError(
      await admin.json('PUT', '/api/directory', { ...body(slapd.url), extra: 1 }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/directory', { ...body(slapd.url), bindPassword: 42 }),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/directory', body(slapd.url, { userFilter: 'uid=*)(' })),
      400,
      'validation_failed',
    );
    expectError(
      await admin.json('PUT', '/api/directory', body(slapd.url, { baseDn: 'x'.repeat(1025) })),
      400,
      'validation_failed',
    );
    // Credentials in the URL would be repeated in every error: refused, naming the right fields.
    const withUser = expectError(
      await admin.json('PUT', '/api/directory', body(slapd.url.replace('ldap://', 'ldap://admin:secret@'))),
      400,
      'validation_failed',
    );
    expect(JSON.stringify(withUser.details)).toContain('use the bind DN and bind password fields');
    expect(JSON.stringify(withUser)).not.toContain('secret');
    expectError(await helpdesk.json('GET', '/api/directory'), 403, 'forbidden');
    expect((await admin.json('POST', '/api/directory/test')).body).toEqual({ ok: true, userCount: 2 });
    const sync = await admin.json('POST', '/api/directory/sync');
    expect(sync.body).toEqual({ created: 2, updated: 0, suspended: 0, unchanged: 0, errors: [] });
    const otto = await admin.json<{ items: { source: string; roles: string[] }[] }>(
      'GET',
      '/api/users?q=otto.ldap',
    );
    expect(otto.body.items[0]).toMatchObject({ source: 'ldap', roles: ['user', 'helpdesk'] });
  });

  it('signs in with the directory password; wrong and injected usernames are refused', async () => {
    const s = await start('lena.ldap');
    expect(s.body.methods).toEqual(['initial_password', 'directory_password', 'security_questions']);
    expect(await start('nobody.here')).toMatchObject({ body: { methods: s.body.methods } });
    const ok = await portalSignIn(new ApiClient(srv.url), 'directory-password', {
      username: 'lena.ldap',
      password: 'Lena-Pass-7',
    });
    expect(ok.status).toBe(200);
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'directory-password', {
        username: 'lena.ldap',
        password: 'lena-pass-7',
      }),
      401,
      'unauthenticated',
    );
    for (const evil of ['nobody.here', '*', '*)(uid=*', 'lena.ldap)(|(uid=*'])
      expectError(
        await portalSignIn(new ApiClient(srv.url), 'directory-password', {
          username: evil,
          password: 'Lena-Pass-7',
        }),
        401,
        'unauthenticated',
      );
    // A local person has no directory password.
    expectError(
      await portalSignIn(new ApiClient(srv.url), 'directory-password', {
        username: 'hannah.help',
        password: srv.demoPassword,
      }),
      401,
      'unauthenticated',
    );
  });

  it('an unreachable directory is a clear 502 directory_unreachable and changes nothing', async () => {
    const users = await admin.json('GET', '/api/users?limit=200');
    await admin.json('PUT', '/api/directory', body(`ldap://127.0.0.1:${await freePort()}`));
    const e = expectError(await admin.json('POST', '/api/directory/sync'), 502, 'directory_unreachable');
    expect(e.message).toMatch(/could not be reached/);
    expectError(await admin.json('POST', '/api/directory/test'), 502, 'directory_unreachable');
    expect(await admin.json('GET', '/api/users?limit=200')).toEqual(users);
    // The person is told what to do, not the directory's address (that is for the operator).
    const portalError = expectError(
      await portalSignIn(new ApiClient(srv.url), 'directory-password', {
        username: 'lena.ldap',
        password: 'Lena-Pass-7',
      }),
      502,
      'directory_unavailable',
    );
    expect(portalError.message).toMatch(/cannot be checked right now/);
    expect(JSON.stringify(portalError)).not.toContain('127.0.0.1');
    expect(portalError.details).toEqual({ cause: 'directory_unreachable' });
    // An unknown name and a local person are asked about in the directory too: the same 502, not
    // a 401 that would tell them apart from directory users.
    for (const username of ['nobody.here', 'hannah.help']) {
      const other = expectError(
        await portalSignIn(new ApiClient(srv.url), 'directory-password', {
          username,
          password: 'Lena-Pass-7',
        }),
        502,
        'directory_unavailable',
      );
      expect(other.message).toBe(portalError.message);
      expect(other.details).toEqual(portalError.details);
    }
  });

  it.skipIf(!opensslAvailable)(
    'over ldaps:// with the CA: tests, syncs, signs in; without the CA a 502 that says what to do',
    async () => {
      const tlsDir = await startSlapd({ tls: true });
      try {
        tlsDir.add(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
        tlsDir.add(
          [
            personLdif({ uid: 'lena.ldap', cn: 'Lena Ldap', employeeNumber: 'E7', password: 'Lena-Pass-7' }),
            personLdif({ uid: 'otto.ldap', cn: 'Otto Ldap', password: 'Otto-Pass-8' }),
            personLdif({ uid: 'tara.tls', cn: 'Tara Tls', password: 'Tara-Pass-9' }),
          ].join('\n'),
        );
        const { ldapsUrl, caPem } = tlsDir.tls!;
        const put = await admin.json<Record<string, unknown>>('PUT', '/api/directory', {
          ...body(ldapsUrl, { caCertificatePem: caPem, groupRoles: [] }),
          bindPassword: ROOT_PW,
        });
        expect(put.status).toBe(200);
        expect(put.body).toMatchObject({ url: ldapsUrl, tlsVerify: true, caCertificatePem: caPem });
        expect((await admin.json('POST', '/api/directory/test')).body).toEqual({ ok: true, userCount: 3 });
        const sync = await admin.json('POST', '/api/directory/sync');
        expect(sync.body).toMatchObject({ created: 1, suspended: 0, errors: [] });
        expect((await start('tara.tls')).body.methods).toContain('directory_password');
        const ok = await portalSignIn(new ApiClient(srv.url), 'directory-password', {
          username: 'tara.tls',
          password: 'Tara-Pass-9',
        });
        expect(ok.status).toBe(200);

        // The same server without its CA: verification fails, and the reply says why and what to do.
        await admin.json('PUT', '/api/directory', body(ldapsUrl, { caCertificatePem: null, groupRoles: [] }));
        const users = await admin.json('GET', '/api/users?limit=200');
        for (const path of ['/api/directory/test', '/api/directory/sync']) {
          const r = await admin.json('POST', path);
          const e = expectError(r, 502, 'directory_certificate_rejected');
          expect(e.message).toMatch(/does not trust .*"Trusted CA certificates"/);
          expect(e.details).toEqual({ url: ldapsUrl, tlsError: 'SELF_SIGNED_CERT_IN_CHAIN' });
          expect(JSON.stringify(r.body)).not.toContain(ROOT_PW);
        }
        expect(await admin.json('GET', '/api/users?limit=200')).toEqual(users);
        const refused = await portalSignIn(new ApiClient(srv.url), 'directory-password', {
          username: 'tara.tls',
          password: 'Tara-Pass-9',
        });
        expect(expectError(refused, 502, 'directory_unavailable').details).toEqual({
          cause: 'directory_certificate_rejected',
        });
        expect(JSON.stringify(refused.body)).not.toContain('Tara-Pass-9');
        // A CA PEM that is not one is refused when saved, naming the field.
        const bad = expectError(
          await admin.json('PUT', '/api/directory', body(ldapsUrl, { caCertificatePem: 'hello' })),
          400,
          'validation_failed',
        );
        expect(bad.details?.problems).toEqual([
          expect.stringMatching(/^caCertificatePem holds no certificate/),
        ]);
      } finally {
        await tlsDir.stop();
      }
    },
    60_000,
  );
});
