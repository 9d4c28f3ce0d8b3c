// Bounded work per request: every input schema bounds its strings, arrays and records; bodies are
// capped per route before they are read (small for sign-in); public routes stop validating at the
// first problem. The attack this answers: 1,200,000 empty objects (3.5 MB) posted to a sign-in
// route once took 10 s to refuse and held up every other request meanwhile.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_BODY_LIMIT } from '../../src/http/request-limits.js';
import { publicValidatorCompiler, validatorCompiler } from '../../src/http/validation.js';
import { operations, sample, type Operation, type Schema } from '../support/openapi-samples.js';
import { startTestServer, type TestServer } from '../support/server.js';

let srv: TestServer;
let ops: Operation[];
let operator: Record<string, string>;
let portal: Record<string, string>;

beforeAll(async () => {
  srv = await startTestServer();
  ops = operations(srv.app.swagger());
  const admin = (await srv.rt.services.users.search({ q: srv.admin.username, limit: 1, offset: 0 }))
    .items[0]!;
  const asHeaders = (s: { token: string; csrfToken: string }) => ({
    cookie: `tessera_session=${s.token}`,
    'x-csrf-token': s.csrfToken,
  });
  operator = asHeaders(await srv.rt.services.auth.startSession(admin, 'operator', 'test'));
  portal = asHeaders(await srv.rt.services.auth.startSession(admin, 'portal', 'test'));
});
afterAll(async () => srv?.close());

const concrete = (path: string) =>
  path.replace(/\{id\}/g, '00000000-0000-4000-8000-000000000000').replace(/\{[^}]+\}/g, 'x');

/** Where a schema lets input grow without bound: strings, arrays, records. */
function unbounded(s: Schema | undefined, at: string): string[] {
  if (!s || typeof s !== 'object') return [];
  const out: string[] = [];
  if (s.type === 'string' && s.maxLength === undefined && !s.enum)
    out.push(`${at}: string without maxLength`);
  if (s.type === 'array' && s.maxItems === undefined) out.push(`${at}: array without maxItems`);
  if (typeof s.additionalProperties === 'object' && s.maxProperties === undefined)
    out.push(`${at}: record without maxProperties`);
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...unbounded(v, `${at}.${k}`));
  for (const [i, v] of (s.anyOf ?? []).entries()) out.push(...unbounded(v, `${at}|${i}`));
  if (s.items) out.push(...unbounded(s.items, `${at}[]`));
  if (typeof s.additionalProperties === 'object') out.push(...unbounded(s.additionalProperties, `${at}{}`));
  return out;
}

interface Reply {
  status: number;
  ms: number;
  body: string;
}

/** One POST over a real socket (undici's fetch would buffer differently), timed to the last byte of the reply. */
function post(path: string, payload: string, headers: Record<string, string> = {}): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${srv.url}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - t0, body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function timedGet(path: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${srv.url}${path}`);
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('bounded input', () => {
  it('every body and query schema bounds its strings, arrays and records', () => {
    const found = ops.flatMap((op) => [
      ...unbounded(op.body, `${op.method} ${op.path} body`),
      ...Object.entries(op.query).flatMap(([k, s]) => unbounded(s, `${op.method} ${op.path} ?${k}`)),
    ]);
    expect(found).toEqual([]);
  });

  it('every route takes the largest body its schema allows; public routes nothing over 8 KiB', async () => {
    const tooSmall: string[] = [];
    for (const op of ops.filter((o) => o.body)) {
      const json = JSON.stringify(sample(op.body!, 'max'));
      // Cut short, so it is malformed JSON: the limit is checked first, and nothing runs.
      const res = await srv.app.inject({
        method: op.method as 'POST',
        url: concrete(op.path),
        headers: {
          'content-type': 'application/json',
          ...(op.public ? {} : op.path.startsWith('/api/portal/') ? portal : operator),
        },
        payload: json.slice(0, -1),
      });
      if (res.statusCode === 413) tooSmall.push(`${op.method} ${op.path} (${json.length} bytes)`);
      else expect(res.statusCode, `${op.method} ${op.path}: ${res.body}`).toBe(400);
      if (op.public) expect(json.length, `${op.method} ${op.path}`).toBeLessThan(PUBLIC_BODY_LIMIT);
    }
    expect(tooSmall).toEqual([]);

    const publicPosts = ops.filter((o) => o.public && o.body);
    expect(publicPosts.map((o) => o.path)).toContain('/api/portal/auth/security-questions');
    for (const op of publicPosts) {
      const res = await post(concrete(op.path), `{"pad":"${'a'.repeat(PUBLIC_BODY_LIMIT)}"}`);
      expect(res.status, op.path).toBe(413);
      expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    }
  });

  it('a body without a length (chunked) is cut off at the limit too', async () => {
    const res = await post(
      '/api/auth/login',
      JSON.stringify({ username: 'x'.repeat(20_000), password: 'y' }),
      {
        'transfer-encoding': 'chunked',
      },
    );
    expect(res.status).toBe(413);
  });
});

describe('the 3.5 MB sign-in body', () => {
  const huge = JSON.stringify({ username: 'alice', answers: Array.from({ length: 1_200_000 }, () => ({})) });

  it('is refused with 413 at once, and /api/meta answers meanwhile without waiting for it', async () => {
    expect(huge.length).toBeGreaterThan(3_500_000);
    // Warm both paths, then five rounds: the huge post, and /api/meta sent just after it.
    await timedGet('/api/meta');
    const refusals: number[] = [];
    const metas: number[] = [];
    for (let round = 0; round < 5; round++) {
      const [refused, meta] = await Promise.all([
        post('/api/portal/auth/security-questions', huge),
        new Promise((r) => setImmediate(r)).then(() => timedGet('/api/meta')),
      ]);
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body).error.code).toBe('payload_too_large');
      refusals.push(refused.ms);
      metas.push(meta);
    }
    // The targets (200 ms and 100 ms) are measured by `npm run bench -- limits`, with the
    // sender in another process. Here the sender shares this event loop and CI machines are loaded
    // (medians near 2 s were seen at load 25), so the bound only tells a size-limited refusal from
    // validating the whole body, which took over 10 s.
    expect(median(refusals)).toBeLessThan(5000);
    expect(median(metas)).toBeLessThan(5000);
  });

  it('would stop at the first error even if it got past the size limit', () => {
    const route = ops.find((o) => o.path === '/api/portal/auth/security-questions')!;
    // The route's own (TypeBox) schema is what the server compiles; the document's copy is the same shape.
    const check = publicValidatorCompiler({
      schema: route.body!,
      method: 'POST',
      url: route.path,
      httpPart: 'body',
    });
    const body = JSON.parse(huge) as unknown;
    expect(check(body)).toBe(false);
    expect((check as unknown as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it('operator routes still report every problem at once', () => {
    const users = ops.find((o) => o.method === 'POST' && o.path === '/api/users')!;
    const check = validatorCompiler({
      schema: users.body!,
      method: 'POST',
      url: users.path,
      httpPart: 'body',
    });
    expect(check({ username: '', displayName: '', roles: ['nobody'] })).toBe(false);
    expect((check as unknown as { errors: unknown[] }).errors.length).toBeGreaterThan(2);
  });
});
