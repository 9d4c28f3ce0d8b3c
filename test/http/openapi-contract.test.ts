// The OpenAPI document as an integrator meets it (issue #21): fetched from a running server, every
// operation named, described and secured as its route is declared (and a route added without them
// fails here), linted with Redocly's rules (redocly.yaml; exceptions with their reasons in
// .redocly.lint-ignore.yaml), and the facts a generated client depends on: optional paging, the
// CSRF header, public routes, real content types, the shared error body, the servers entry.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, op, swaggerOptions } from '../../src/http/openapi.js';
import { errorResponses } from '../../src/http/schemas.js';
import { operationProblems, securityProblems, type OpenApiDocument } from '../support/openapi-rules.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLIENT_DIR = join(ROOT, 'test/http/openapi-client');
const run = promisify(execFile);

/** runCalls of openapi-client/calls.ts (not imported by name: see the test). */
type RunCalls = (
  baseUrl: string,
  admin: { username: string; password: string },
  newUsername: string,
) => Promise<{
  usersTotal: number;
  certificatesTotal: number;
  createdUser: { id: string; username: string };
  refusedWithoutCsrf: { status: number; code: string };
  caDer: Uint8Array;
  caPem: string;
  sessionAfterLogout: number;
}>;

/** Routes the document leaves out on purpose, each with why. */
const UNDOCUMENTED = new Set([
  'GET /api/openapi.json', // the document itself
  'GET /api/agents/ws', // a WebSocket (agent bearer token): OpenAPI 3.0 cannot describe it; docs/agent.md does
  'GET /api/wallet/ws', // the wallet's WebSocket (first frame: link code or token): docs/mobile.md does
  'GET /api/wallet/relay', // the workstation's WebSocket to its phone (agent bearer token): docs/mobile.md does
]);
/** Only the document's own routes: not the OpenAPI viewer's nor the web app's files. */
const isApiRoute = (url: string) =>
  (/^\/(api|pki|downloads)\//.test(url) && !url.startsWith('/api/docs')) ||
  url === '/healthz' ||
  url === '/readyz';

let srv: TestServer;
let doc: OpenApiDocument;

beforeAll(async () => {
  srv = await startTestServer();
  const res = await fetch(`${srv.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
});
afterAll(async () => srv?.close());

describe('every operation of the OpenAPI document', () => {
  it('has a unique verbNoun operationId, a summary, one declared tag and described replies', () => {
    expect(Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length).toBeGreaterThan(75);
    expect(operationProblems(doc)).toEqual([]);
  });

  it('is every declared route, secured as declared: [] when public, cookie + x-csrf-token to change state', () => {
    const declared = srv.app.declaredRoutes.filter((r) => isApiRoute(r.url));
    expect(declared.length).toBeGreaterThan(75);
    expect(securityProblems(doc, declared, UNDOCUMENTED)).toEqual([]);
    expect(doc.components?.securitySchemes).toMatchObject({
      session: { type: 'apiKey', in: 'cookie', name: 'tessera_session' },
      csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token' },
    });
  });

  it('catches a route added without its facts, or with a wrongly declared security', async () => {
    // The same checks on a small app: one route as every route should be, one that forgot.
    const app = Fastify();
    await app.register(swagger, swaggerOptions('http://127.0.0.1:1', '0.0.0'));
    app.post(
      '/api/things',
      {
        config: { permission: 'user.create' },
        schema: {
          ...op('createThing', 'users', 'Make a thing'),
          response: { 201: ok(Type.Object({}), 'Made') },
        },
      },
      async () => ({}),
    );
    app.post(
      '/api/forgotten',
      {
        config: { permission: 'user.create' },
        schema: { response: { 200: Type.Object({}), ...errorResponses } },
      },
      async () => ({}),
    );
    app.get(
      '/api/wrong',
      { config: { public: true }, schema: { ...op('getWrong', 'users', 'x'), security: [{ session: [] }] } },
      async () => ({}),
    );
    await app.ready();
    const planted = app.swagger() as unknown as OpenApiDocument;
    expect(operationProblems(planted)).toEqual([
      'POST /api/forgotten: no operationId',
      'POST /api/forgotten: no summary',
      'POST /api/forgotten: 0 tags, not one',
      'POST /api/forgotten 200: the reply does not say what happened',
      'GET /api/wrong 200: the reply does not say what happened',
    ]);
    expect(
      securityProblems(
        planted,
        [
          { method: 'POST', url: '/api/things', access: 'user.create' },
          { method: 'GET', url: '/api/wrong', access: 'public' },
          { method: 'GET', url: '/api/missing', access: 'public' },
        ],
        new Set(),
      ),
    ).toEqual([
      'GET /api/wrong: public, but security is [{"session":[]}]',
      'GET /api/missing: not in the document',
    ]);
    await app.close();
  });
});

describe('what a generated client depends on', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI operation, read by path
  const get = (path: string, method = 'get') => doc.paths[path]?.[method] as Record<string, any>;

  it('paging is optional with its defaults on users, devices, audit and certificates', () => {
    for (const path of ['/api/users', '/api/devices', '/api/audit', '/api/certificates']) {
      const params = (
        get(path).parameters as { name: string; required: boolean; schema: { default: number } }[]
      )
        .filter((p) => p.name === 'limit' || p.name === 'offset')
        .map((p) => [p.name, p.required, p.schema.default]);
      expect(params, path).toEqual(
        expect.arrayContaining([
          ['limit', false, 50],
          ['offset', false, 0],
        ]),
      );
    }
  });

  it('public routes say security: [] (meta, health, /pki, downloads, sign-in)', () => {
    for (const [path, method] of [
      ['/api/meta', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
      ['/pki/ca/{file}', 'get'],
      ['/pki/ca/{id}/chain.pem', 'get'],
      ['/pki/crl/{file}', 'get'],
      ['/pki/ocsp', 'post'],
      ['/pki/ocsp/{request}', 'get'],
      ['/api/downloads', 'get'],
      ['/downloads/{file}', 'get'],
      ['/api/auth/login', 'post'],
    ] as const)
      expect(get(path, method)?.security, `${method} ${path}`).toEqual([]);
    expect(get('/api/users', 'post').security).toEqual([{ session: [], csrf: [] }]);
    expect(get('/api/users').security).toEqual([{ session: [] }]);
  });

  it('the /pki routes, the PEM download, logout and the event streams declare what they send', () => {
    const types = (path: string, status = '200', method = 'get') =>
      Object.keys(get(path, method).responses[status].content ?? {});
    expect(types('/pki/ca/{file}')).toEqual(['application/pkix-cert', 'application/x-pem-file']);
    expect(types('/pki/ca/{id}/chain.pem')).toEqual(['application/x-pem-file']);
    expect(types('/pki/crl/{file}')).toEqual(['application/pkix-crl']);
    expect(types('/pki/ocsp', '200', 'post')).toEqual(['application/ocsp-response']);
    expect(Object.keys(get('/pki/ocsp', 'post').requestBody.content)).toEqual(['application/ocsp-request']);
    expect(types('/pki/ocsp/{request}')).toEqual(['application/ocsp-response']);
    expect(get('/pki/ocsp/{request}').parameters).toEqual([
      expect.objectContaining({ in: 'path', name: 'request', required: true }),
    ]);
    expect(types('/api/certificates/{id}/pem')).toEqual(['text/plain']);
    expect(types('/api/issuance/jobs/{id}/events')).toEqual(['text/event-stream']);
    expect(types('/api/portal/issuance/jobs/{id}/events')).toEqual(['text/event-stream']);
    expect(get('/api/auth/logout', 'post').responses['204']).toEqual({
      description: expect.stringMatching(/signed out/i),
    });
  });

  it('the error body is one shared schema; the server is named', () => {
    expect(doc.components?.schemas?.Error).toMatchObject({ properties: { error: { type: 'object' } } });
    // Restated nowhere: an object holding just `error` {code, message, correlationId} is the component.
    const bodies: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (!node || typeof node !== 'object') return;
      const props = (node as { properties?: Record<string, { required?: string[] }> }).properties;
      if (props && Object.keys(props).join() === 'error' && props.error?.required?.includes('correlationId'))
        bodies.push(at);
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(doc, '#');
    expect(bodies).toEqual(['#/components/schemas/Error']);
    expect(doc.servers).toEqual([expect.objectContaining({ url: srv.url })]);
  });
});

describe('lint', () => {
  it('Redocly (recommended + redocly.yaml): no error, no warning but the listed exceptions', async () => {
    const config = await loadConfig({ configPath: join(ROOT, 'redocly.yaml') });
    const file = join(ROOT, 'openapi.json'); // the name .redocly.lint-ignore.yaml knows it by
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: file, config });
    const shown = problems
      .filter((p) => !p.ignored)
      .map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
    expect(shown).toEqual([]);
    // The exceptions are still what they were listed for (a stale entry would hide nothing).
    expect(problems.filter((p) => p.ignored).map((p) => p.ruleId)).toEqual(
      Array(5).fill('operation-4xx-response'),
    );
  });
});

describe('a client generated from the document', () => {
  it('is generated by the one command, compiles with tsc, and its calls work against the server', async () => {
    // The command docs/api.md gives, against the running server.
    const out = join(CLIENT_DIR, 'api.d.ts');
    writeFileSync(out, '');
    await run(process.execPath, [
      join(ROOT, 'node_modules/openapi-typescript/bin/cli.js'),
      `${srv.url}/api/openapi.json`,
      '-o',
      out,
    ]);
    // calls.ts uses the generated types strictly; a required `limit`, a missing operation or an
    // undeclared field would stop it compiling.
    const tsc = await run(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(CLIENT_DIR, 'tsconfig.json'),
    ]).catch((e: { stdout?: string }) => ({ stdout: `tsc failed: ${e.stdout ?? String(e)}` }));
    expect(tsc.stdout).toBe('');

    // Imported by a computed path: the project's own type check leaves calls.ts out (api.d.ts is
    // generated here), so it must not follow the import either.
    const calls = join(CLIENT_DIR, 'calls.ts');
    const { runCalls } = (await import(calls)) as { runCalls: RunCalls };
    const r = await runCalls(srv.url, srv.admin, 'made.by.client');

    expect(r.usersTotal).toBeGreaterThanOrEqual(1); // the administrator at least
    expect(r.certificatesTotal).toBeGreaterThanOrEqual(0);
    expect(r.refusedWithoutCsrf).toEqual({ status: 403, code: 'csrf_failed' });
    const made = await srv.rt.services.users.get(r.createdUser.id);
    expect(made).toMatchObject({ username: 'made.by.client', displayName: 'Made by a generated client' });
    expect(r.sessionAfterLogout).toBe(401);

    // The public downloads are the CA certificate, as openssl reads it, in both encodings.
    const tmp = join(CLIENT_DIR, 'ca.der');
    writeFileSync(tmp, r.caDer);
    try {
      const fromDer = await run('openssl', [
        'x509',
        '-inform',
        'DER',
        '-in',
        tmp,
        '-noout',
        '-fingerprint',
        '-sha256',
      ]);
      writeFileSync(tmp, r.caPem);
      const fromPem = await run('openssl', ['x509', '-in', tmp, '-noout', '-fingerprint', '-sha256']);
      expect(fromDer.stdout).toMatch(/Fingerprint=/);
      expect(fromPem.stdout).toBe(fromDer.stdout);
    } finally {
      rmSync(tmp, { force: true });
    }
  });
});
