// Route fuzzing generated from the OpenAPI document: for every operation, at least 50 bad inputs —
// each string field with NUL and other control characters, lone surrogates, over-long values,
// wrong types, missing fields, unknown fields, oversized arrays, malformed JSON, odd content types,
// broken path parameters and query strings. None may give a 5xx; every bad body is refused with a
// 4xx; and a NUL in any string field is a 400 that names that field.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mainBranch,
  operations,
  removeAt,
  sample,
  schemaAt,
  setAt,
  stringPaths,
  type FieldPath,
  type Operation,
  type Schema,
} from '../support/openapi-samples.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface BadInput {
  label: string;
  /** Path and query, already encoded. */
  url: string;
  payload?: string;
  contentType?: string;
  /** A NUL placed in this body field: the reply must be a 400 naming it. */
  nulField?: string;
  /** A body the route's schema must refuse. */
  refused?: boolean;
}

const MIN_PER_ROUTE = 50;

const fillPath = (op: Operation, params: Record<string, string> = {}) =>
  op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    if (name in params) return params[name]!;
    const s = op.params[name];
    if (s?.format === 'uuid' || name === 'id') return randomUUID();
    return name === '*' ? 'MAo=' : 'nothing.crt';
  });

/** Values of the wrong kind for a field described by `s`. */
function wrongValues(s: Schema): unknown[] {
  const m = mainBranch(s);
  const nullable = s.nullable === true || (s.anyOf ?? []).some((b) => b.type === 'null');
  const out: unknown[] = [[1, 2]];
  if (m.type !== 'object') out.push({ nested: 'object' });
  if (!nullable) out.push(null);
  if (m.enum || (s.anyOf ?? []).some((b) => b.enum)) out.push('not-a-member', 7);
  switch (m.type) {
    case 'string':
      out.push(42, true);
      if (m.maxLength !== undefined) out.push('a'.repeat(m.maxLength + 1));
      if ((m.minLength ?? 0) > 0 && !m.format) out.push('');
      break;
    case 'integer':
    case 'number':
      out.push('1', true, 'NaN');
      if (m.type === 'integer') out.push(1.5);
      if (m.maximum !== undefined) out.push(m.maximum + 1, 1e308);
      if (m.minimum !== undefined) out.push(m.minimum - 1, -1e308);
      break;
    case 'boolean':
      out.push('true', 1);
      break;
    case 'array':
      out.push('not an array', { 0: 'x' });
      if (m.maxItems !== undefined)
        out.push(Array.from({ length: m.maxItems + 1 }, () => sample(m.items ?? {}, 'base')));
      if ((m.minItems ?? 0) > 0) out.push([]);
      if (m.items) out.push([{ wrong: ['item'] }]);
      break;
    case 'object':
      out.push('not an object', 12);
      break;
  }
  return out;
}

/** Every object path of a sample whose schema refuses unknown keys, and every record path. */
function objectPaths(
  value: unknown,
  schema: Schema,
  at: FieldPath = [],
): { path: FieldPath; record: boolean }[] {
  const s = mainBranch(schema);
  if (Array.isArray(value)) return value.flatMap((v, i) => objectPaths(v, s.items ?? {}, [...at, i]));
  if (!value || typeof value !== 'object') return [];
  const here =
    s.additionalProperties === false
      ? [{ path: at, record: false }]
      : typeof s.additionalProperties === 'object'
        ? [{ path: at, record: true }]
        : [];
  return [
    ...here,
    ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, schemaAt(s, [k]), [...at, k])),
  ];
}

const NASTY_STRINGS: [string, (old: string) => string][] = [
  ['NUL in the middle', (o) => `${o.slice(0, 1)}\u0000${o.slice(1)}`],
  ['NUL alone', () => '\u0000'],
  ['escape', (o) => `\u001b[2J${o}`],
  ['DEL', (o) => `${o}\u007f`],
  ['C1 control', (o) => `${o}\u0085`],
  ['lone surrogate', (o) => `${o}\ud800`],
  ['bell and backspace', (o) => `\u0007${o}\u0008`],
];

function bodyInputs(op: Operation, url: string): BadInput[] {
  const schema = op.body!;
  const base = sample(schema, 'base');
  const out: BadInput[] = [];
  const json = (label: string, value: unknown, extra: Partial<BadInput> = {}) =>
    out.push({ label, url, payload: JSON.stringify(value), refused: true, ...extra });

  for (const path of stringPaths(base)) {
    const field = ['body', ...path].join('/');
    const multiline = schemaAt(schema, path)['x-multiline'] === true;
    for (const [label, nasty] of NASTY_STRINGS)
      json(
        `${field}: ${label}`,
        setAt(base, path, (o) => nasty(String(o))),
        label.startsWith('NUL') ? { nulField: field } : {},
      );
    if (!multiline)
      json(
        `${field}: line feed`,
        setAt(base, path, (o) => `${String(o)}\nsecond line`),
      );
  }
  const leaves = (v: unknown, at: FieldPath = []): FieldPath[] =>
    v && typeof v === 'object'
      ? [at, ...Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, Array.isArray(v) ? Number(k) : k]))]
      : [at];
  for (const path of leaves(base).filter((p) => p.length > 0)) {
    const field = ['body', ...path].join('/');
    const s = schemaAt(schema, path.slice(0, -1));
    const fieldSchema =
      mainBranch(s).type === 'array'
        ? (mainBranch(s).items ?? {})
        : (mainBranch(s).properties?.[String(path.at(-1))] ?? null);
    if (!fieldSchema) continue; // a record's own key: its values are covered as strings above
    for (const [i, bad] of wrongValues(fieldSchema).entries())
      json(
        `${field}: wrong value ${i}`,
        setAt(base, path, () => bad),
      );
    const parent = mainBranch(schemaAt(schema, path.slice(0, -1)));
    if (parent.required?.includes(String(path.at(-1)))) json(`${field}: missing`, removeAt(base, path));
  }
  for (const { path, record } of objectPaths(base, schema)) {
    const where = ['body', ...path].join('/');
    if (record)
      json(
        `${where}: NUL in a key`,
        setAt(base, path, (o) => ({ ...(o as object), 'k\u0000ey': 'v' })),
      );
    else {
      json(
        `${where}: unknown field`,
        setAt(base, path, (o) => ({ ...(o as object), unexpected: 1 })),
      );
      json(
        `${where}: unknown field with NUL`,
        setAt(base, path, (o) => ({ ...(o as object), 'a\u0000': 'b\u0000' })),
      );
      json(
        `${where}: __proto__`,
        setAt(base, path, (o) =>
          JSON.parse(
            `{${JSON.stringify(o).slice(1, -1)}${JSON.stringify(o) === '{}' ? '' : ','}"__proto__":{"admin":true}}`,
          ),
        ),
      );
    }
  }
  out.push(...junkBodies(url, true));
  return out;
}

/** Bodies that are wrong for any route; `refused` when the route has a body schema. */
function junkBodies(url: string, refused: boolean): BadInput[] {
  const raw: [string, string, string?][] = [
    ['malformed JSON', '{"a":'],
    ['empty body', ''],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"text"'],
    ['number', '42'],
    ['true', 'true'],
    ['NUL in JSON text', '"\u0000"'],
    ['escaped NUL key', '{"\\u0000":"\\u0000"}'],
    ['constructor pollution', '{"constructor":{"prototype":{"admin":true}}}'],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['many keys', JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])))],
    ['duplicate keys', '{"a":1,"a":2}'],
    ['huge number', '{"n":1e999999}'],
    ['lone surrogate', '{"x":"\\ud800"}'],
    ['bad UTF-8 bytes', '{"x":"\xff\xfe"}'],
    ['text/plain', 'hello', 'text/plain'],
    ['form encoding', 'a=1&b=2', 'application/x-www-form-urlencoded'],
    ['XML', '<a/>', 'application/xml'],
    ['JSON with charset', '{"x":1}', 'application/json; charset=latin1'],
  ];
  return raw.map(([label, payload, contentType]) => ({
    label: `junk: ${label}`,
    url,
    payload,
    contentType: contentType ?? 'application/json',
    // Some junk is JSON the schema refuses, some a content type that gets 415: all are 4xx.
    refused,
  }));
}

function queryInputs(op: Operation): BadInput[] {
  const url = (q: string, params?: Record<string, string>) => `${fillPath(op, params)}?${q}`;
  const out: BadInput[] = [];
  for (const [name, s] of Object.entries(op.query)) {
    const m = mainBranch(s);
    const vals = ['%00', 'a%00b', '%1B%5B2J', '%7F', '%C2%85', '%ED%A0%80', '%FF', '%'];
    if (m.maxLength !== undefined) vals.push('a'.repeat(m.maxLength + 1));
    if (m.type === 'integer' || m.type === 'number')
      vals.push('abc', '1.5', '-1', '1e400', '99999999999999999999');
    if (m.type === 'boolean') vals.push('maybe');
    if (m.enum || s.anyOf) vals.push('not-a-member');
    for (const v of vals) out.push({ label: `?${name}=${v.slice(0, 20)}`, url: url(`${name}=${v}`) });
    out.push({ label: `?${name} twice`, url: url(`${name}=a&${name}=b`) });
  }
  for (const name of Object.keys(op.params))
    for (const v of [
      'not-a-uuid',
      '%00',
      'a%00b',
      '..%2F..%2Fetc%2Fpasswd',
      'a'.repeat(300),
      '%FF',
      '%E2%80%AE',
    ])
      out.push({ label: `{${name}}=${v.slice(0, 20)}`, url: url('', { [name]: v }) });
  const junk = [
    '%00=%00',
    'unknown=1',
    '__proto__[admin]=true',
    'constructor[prototype][admin]=1',
    `q=${'a'.repeat(5000)}`,
    'limit=-1',
    'limit=100000',
    'offset=-5',
    'a[b][c][d][e][f]=1',
    '=',
    '&&&',
    '%',
    'x=%ZZ',
    `${'k'.repeat(2000)}=1`,
    Array.from({ length: 300 }, (_, i) => `p${i}=${i}`).join('&'),
  ];
  for (let i = 0; out.length < MIN_PER_ROUTE; i++)
    out.push({ label: `?${junk[i % junk.length]!.slice(0, 20)} #${i}`, url: url(junk[i % junk.length]!) });
  return out;
}

function inputsFor(op: Operation): BadInput[] {
  const url = fillPath(op);
  const out: BadInput[] = [];
  if (op.body) out.push(...bodyInputs(op, url));
  else if (op.method !== 'GET') out.push(...junkBodies(url, false));
  out.push(...queryInputs(op));
  return out;
}

let srv: TestServer;
let ops: Operation[];

beforeAll(async () => {
  srv = await startTestServer();
  ops = operations(srv.app.swagger());
});
afterAll(async () => srv?.close());

/** A fresh session of the kind the route needs (a fuzzed logout must not end the next route's). */
async function headersFor(op: Operation): Promise<Record<string, string>> {
  if (op.public) return {};
  const admin = (await srv.rt.services.users.search({ q: srv.admin.username, limit: 1, offset: 0 }))
    .items[0]!;
  const s = await srv.rt.services.auth.startSession(
    admin,
    op.path.startsWith('/api/portal/') ? 'portal' : 'operator',
    'fuzz',
  );
  return { cookie: `tessera_session=${s.token}`, 'x-csrf-token': s.csrfToken };
}

async function send(app: FastifyInstance, op: Operation, input: BadInput, headers: Record<string, string>) {
  return app.inject({
    method: op.method as 'POST',
    url: input.url,
    headers: {
      ...headers,
      ...(input.payload !== undefined ? { 'content-type': input.contentType ?? 'application/json' } : {}),
    },
    ...(input.payload !== undefined ? { payload: input.payload } : {}),
  });
}

describe('route fuzzing from the OpenAPI document', () => {
  it('covers every documented operation with at least 50 bad inputs, NUL in every string field', () => {
    expect(ops.length).toBeGreaterThan(70);
    for (const op of ops)
      expect(inputsFor(op).length, `${op.method} ${op.path}`).toBeGreaterThanOrEqual(MIN_PER_ROUTE);
    const login = ops.find((o) => o.path === '/api/auth/login')!;
    expect(
      inputsFor(login)
        .filter((i) => i.nulField)
        .map((i) => i.nulField),
    ).toEqual(expect.arrayContaining(['body/username', 'body/password']));
  });

  // Over 9,000 requests (the card layouts alone bring ~1,700): room for a loaded two-core machine.
  it('no bad input gives a 5xx; bad bodies are refused; a NUL is a 400 naming its field', async () => {
    const problems: string[] = [];
    let sent = 0;
    for (const op of ops) {
      const headers = await headersFor(op);
      for (const input of inputsFor(op)) {
        const res = await send(srv.app, op, input, headers);
        sent++;
        const where = `${op.method} ${op.path} [${input.label}]`;
        if (res.statusCode >= 500) problems.push(`${where}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        else if (input.refused && (res.statusCode < 400 || res.statusCode === 401 || res.statusCode === 403))
          problems.push(`${where}: not refused (${res.statusCode}) ${res.body.slice(0, 120)}`);
        else if (input.nulField) {
          const issues =
            (res.json() as { error?: { details?: { issues?: { field: string }[] } } }).error?.details
              ?.issues ?? [];
          if (res.statusCode !== 400 || !issues.some((i) => i.field === input.nulField))
            problems.push(`${where}: ${res.statusCode}, issues ${JSON.stringify(issues).slice(0, 200)}`);
        }
      }
    }
    console.log(`route fuzz: ${sent} bad inputs over ${ops.length} operations`);
    expect(problems).toEqual([]);
  }, 600_000);
});
