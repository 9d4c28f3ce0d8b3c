// The one text rule for every string the API accepts: control characters (NUL first of all) and
// lone surrogates are refused with a 400 naming the field; multi-line fields may hold line breaks
// and tabs. Once, a NUL gave a 500 in 14 places (PostgreSQL refuses it in text).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textProblem } from '../../src/http/text-rule.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

describe('textProblem', () => {
  it.each([
    ['plain text', 'Ada Lovelace', false, null],
    ['letters beyond ASCII', 'Zoë Ångström — 東京 🎴', false, null],
    ['NUL', 'a\u0000b', false, 'U+0000 at character 2'],
    ['NUL in a multi-line field', 'line\n\u0000', true, 'U+0000 at character 6'],
    ['escape', '\u001b[31m', false, 'U+001B at character 1'],
    ['DEL', 'x\u007f', false, 'U+007F at character 2'],
    ['a C1 control (NEL)', 'x\u0085', false, 'U+0085 at character 2'],
    ['a line feed in a one-line field', 'two\nlines', false, 'U+000A at character 4'],
    ['a tab in a one-line field', 'a\tb', false, 'U+0009 at character 2'],
    ['line feed, carriage return and tab in a multi-line field', 'a\r\n\tb', true, null],
    ['a vertical tab in a multi-line field', 'a\u000bb', true, 'U+000B at character 2'],
    ['a lone high surrogate', 'a\ud800b', false, 'lone surrogate at character 2'],
    ['a lone low surrogate', '\udc00', false, 'lone surrogate at character 1'],
    ['a surrogate pair', '\ud83c\udfb4', false, null],
  ])('%s', (_label, text, multiline, expected) => {
    const problem = textProblem(text, multiline);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toContain(expected);
  });
});

describe('through the API', () => {
  let srv: TestServer;
  let admin: ApiClient;
  beforeAll(async () => {
    srv = await startTestServer();
    admin = new ApiClient(srv.url);
    expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
  });
  afterAll(async () => srv?.close());

  type Err = {
    error: { code: string; message: string; details: { issues: { field: string; message: string }[] } };
  };
  const refusedFor = (r: { status: number; body: unknown }, field: string) => {
    expect(r.status).toBe(400);
    const e = (r.body as Err).error;
    expect(e.code).toBe('validation_failed');
    expect(e.details.issues.map((i) => i.field)).toContain(field);
    expect(e.message).toContain(`${field} must not contain control characters`);
  };

  it('refuses NUL in a sign-in name without a session, naming the field', async () => {
    refusedFor(
      await new ApiClient(srv.url).json('POST', '/api/auth/login', {
        username: 'ad\u0000min',
        password: 'x',
      }),
      'body/username',
    );
  });

  it('refuses NUL in a search term, a display name and a property', async () => {
    refusedFor(await admin.json('GET', '/api/users?q=a%00b'), 'querystring/q');
    refusedFor(await admin.json('GET', '/api/devices?q=%00'), 'querystring/q');
    refusedFor(await admin.json('GET', '/api/audit?action=%00'), 'querystring/action');
    refusedFor(
      await admin.json('POST', '/api/users', { username: 'nul.test', displayName: 'Nul\u0000Test' }),
      'body/displayName',
    );
    refusedFor(
      await admin.json('POST', '/api/users', {
        username: 'nul.test',
        displayName: 'Nul',
        properties: { dept: 'a\u0000' },
      }),
      'body/properties/dept',
    );
  });

  it('refuses a control character in a record key', async () => {
    const r = await admin.json<Err>('POST', '/api/users', {
      username: 'key.test',
      displayName: 'Key',
      properties: { 'de\u0000pt': 'x' },
    });
    expect(r.status).toBe(400);
  });

  it('keeps line breaks in multi-line fields (device notes) and refuses them in one-line fields', async () => {
    const ok = await admin.json('POST', '/api/devices', {
      serial: 'TEXT-1',
      type: 'piv_card',
      notes: 'first line\r\n\tsecond',
    });
    expect(ok.status).toBe(201);
    refusedFor(
      await admin.json('POST', '/api/devices', { serial: 'TEXT-2', type: 'piv_card', notes: 'a\u0000' }),
      'body/notes',
    );
    refusedFor(
      await admin.json('POST', '/api/devices', { serial: 'TEXT\n3', type: 'piv_card' }),
      'body/serial',
    );
  });
});
