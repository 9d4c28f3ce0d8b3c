// A real Tessera server for HTTP and browser tests: in-memory PGlite (or a PostgreSQL schema),
// listening on a free loopback port, serving the built web app when dist/web exists.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type ConfigOverrides } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { Clock } from '../../src/services/context.js';
import type { CardAccess } from '../../src/services/card-access.js';
import { freePort } from './free-port.js';
import { dropSchema, PG_URL, pgliteTemplate, testSchemaName } from './db.js';

export interface TestServer {
  url: string;
  admin: { username: string; password: string };
  /** The demo people's shared password, when started with demo: true. */
  demoPassword?: string;
  rt: Runtime;
  app: FastifyInstance;
  close(): Promise<void>;
}

export interface TestServerOptions {
  demo?: boolean;
  engine?: 'pglite' | 'postgres';
  clock?: Clock;
  config?: ConfigOverrides;
  cardAccess?: CardAccess;
  /**
   * Also run the built-in demo agents as `tessera start` does (virtual readers of the administrator
   * and ivan.issuer over real sockets), reachable as rt.demoAgents (the portal's demo hand-over).
   */
  demoAgents?: boolean;
  /** PostgreSQL: this schema (another server's, to share its database) instead of a fresh one. */
  schema?: string;
  /** Run the mail outbox's sender when a mail server is configured (default true). */
  mailWorker?: boolean;
}

export { freePort };

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  // No agent download unless a test gives one: what the pages offer must not depend on whether
  // this checkout's dist/downloads has been built.
  const downloadsDir = join(dataDir, 'downloads');
  mkdirSync(downloadsDir);
  const port = await freePort();
  const schema = opts.engine === 'postgres' ? (opts.schema ?? testSchemaName('srv')) : undefined;
  const config = loadConfig(
    {
      host: '127.0.0.1',
      port,
      dataDir,
      databaseUrl: schema ? PG_URL : undefined,
      logLevel: 'silent',
      downloadsDir,
      ...opts.config,
    },
    {},
  );
  const rt = await openRuntime(config, {
    inMemory: true,
    schema,
    ...(schema ? {} : { pgliteTemplate: await pgliteTemplate() }),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.cardAccess ? { cardAccess: opts.cardAccess } : {}),
  });
  const admin = await rt.services.bootstrap.ensureFirstAdmin();
  const demo = opts.demo ? await rt.services.bootstrap.seedDemo() : null;
  const app = await buildApp(rt);
  await app.listen({ host: '127.0.0.1', port });
  const url = `http://127.0.0.1:${port}`;
  if (opts.demoAgents) await rt.startDemoAgents(url);
  // With a mail server configured, the outbox is sent as `tessera serve` sends it (the other
  // background work stays off: tests drive it themselves).
  const stopMail =
    config.smtpUrl && opts.mailWorker !== false
      ? rt.services.mailOutbox.start({ onError: () => undefined })
      : null;
  return {
    url,
    admin: { username: admin.username, password: admin.password! },
    ...(demo ? { demoPassword: demo.password } : {}),
    rt,
    app,
    async close() {
      stopMail?.();
      await rt.demoAgents?.stop(); // before the sockets they use close
      await app.close();
      await rt.close();
      if (schema && !opts.schema) await dropSchema(schema);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A signed-in API client for contract tests: keeps the cookie and sends the CSRF header. */
export class ApiClient {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  async login(username: string, password: string): Promise<Response> {
    const res = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.ok) {
      this.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      this.csrf = ((await res.clone().json()) as { csrfToken: string }).csrfToken;
    }
    return res;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const h: Record<string, string> = { cookie: this.cookie, ...headers };
    if (method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] ??= this.csrf;
    if (body !== undefined) h['content-type'] ??= 'application/json';
    return fetch(`${this.base}${path}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await this.call(method, path, body);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
}
