// What every reply says to the browser: a Content-Security-Policy that allows only the app's own
// script and forbids framing, HSTS when Tessera is reached over https, no caching of API replies
// (sessions' CSRF tokens, initial passwords, pairing tokens), and no source maps from
// `tessera serve`. The HTML checks need the built web app (npm run build, as the suite does).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, findWebRoot } from '../../src/http/app.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

const webRoot = findWebRoot();
if (!webRoot) console.warn('\n*** security-headers: dist/web is not built; run `npm run build` first ***\n');

const cspOf = (res: Response) => {
  const header = res.headers.get('content-security-policy') ?? '';
  return Object.fromEntries(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
};

describe('over http', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => srv?.close());

  it('the app pages carry a CSP: own scripts only, no inline script, no framing', async () => {
    expect(webRoot, 'the web app must be built (npm run build)').not.toBeNull();
    for (const path of ['/operator', '/portal', '/login', '/operator/users/x']) {
      const res = await fetch(`${srv.url}${path}`);
      expect(res.status, path).toBe(200);
      const csp = cspOf(res);
      expect(csp['script-src'], path).toEqual(["'self'"]);
      expect(csp['default-src']).toEqual(["'self'"]);
      expect(csp['frame-ancestors']).toEqual(["'none'"]);
      expect(csp['object-src']).toEqual(["'none'"]);
      expect(JSON.stringify(csp)).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('strict-transport-security')).toBeNull();
      // The page itself has no inline script for the policy to refuse: every script has a src.
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(attrs).toMatch(/\bsrc=/);
        expect(body!.trim()).toBe('');
      }
      expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers either
    }
  });

  it('API replies, and the session, sign-in and pairing replies above all, are not cached', async () => {
    const anonymous = await fetch(`${srv.url}/api/meta`);
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(cspOf(anonymous)['frame-ancestors']).toEqual(["'none'"]);

    const admin = new ApiClient(srv.url);
    const login = await admin.login(srv.admin.username, srv.admin.password);
    expect(login.status).toBe(200);
    expect(login.headers.get('cache-control')).toBe('no-store');
    const session = await admin.call('GET', '/api/auth/session');
    expect(((await session.json()) as { csrfToken: string }).csrfToken).toBe(admin.csrf);
    expect(session.headers.get('cache-control')).toBe('no-store');

    const refused = await fetch(`${srv.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'wrong' }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');

    const code = await admin.json<{ code: string }>('POST', '/api/agents/pairing-codes', {});
    expect(code.status).toBe(201);
    const pair = await fetch(`${srv.url}/api/agents/pair`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: code.body.code, name: 'probe', hostname: 'probe.local' }),
    });
    expect(pair.status).toBe(201);
    expect(((await pair.json()) as { token: string }).token.length).toBeGreaterThan(20);
    expect(pair.headers.get('cache-control')).toBe('no-store');

    const notFound = await fetch(`${srv.url}/api/nothing-here`);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('cache-control')).toBe('no-store');
  });

  it('the CA endpoints keep their own caching', async () => {
    const cas = await new ApiClient(srv.url);
    await cas.login(srv.admin.username, srv.admin.password);
    const list = await cas.json<{ id: string }[] | { items: { id: string }[] }>('GET', '/api/cas');
    const items = Array.isArray(list.body) ? list.body : list.body.items;
    const crl = await fetch(`${srv.url}/pki/crl/${items[0]!.id}.crl`);
    expect(crl.status).toBe(200);
    expect(crl.headers.get('cache-control')).not.toBe('no-store');
  });

  it('`tessera serve` does not serve source maps; the scripts themselves are served', async () => {
    expect(webRoot).not.toBeNull();
    const assets = readdirSync(join(webRoot!, 'assets'));
    const map = assets.find((f) => f.endsWith('.js.map'));
    expect(map, 'the build writes source maps').toBeDefined();
    expect(existsSync(join(webRoot!, 'assets', map!))).toBe(true);
    const js = await fetch(`${srv.url}/assets/${map!.replace(/\.map$/, '')}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-security-policy')).not.toBeNull();
    const res = await fetch(`${srv.url}/assets/${map}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('"sources"');
  });

  it('`tessera start` serves them, for debugging the demo', async () => {
    const app = await buildApp(srv.rt, { sourceMaps: true });
    try {
      const map = readdirSync(join(webRoot!, 'assets')).find((f) => f.endsWith('.js.map'))!;
      const res = await app.inject({ method: 'GET', url: `/assets/${map}` });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('"sources"');
    } finally {
      await app.close();
    }
  });
});

describe('over https', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ config: { externalUrl: 'https://tessera.example.org' } });
  });
  afterAll(async () => srv?.close());

  it('every reply carries Strict-Transport-Security', async () => {
    for (const path of ['/api/meta', '/operator', '/healthz', '/api/nothing-here']) {
      const res = await fetch(`${srv.url}${path}`);
      expect(res.headers.get('strict-transport-security'), path).toBe('max-age=63072000');
    }
  });
});
