// Role × route: every route of the built app is called as nobody, and as every role in an operator
// session and in a user-portal session, and who gets through must match the table below, with the
// roles of each permission taken from src/domain/permissions.ts. The table is the API contract
// (which permission each route needs); a route whose declaration drifts from it — as
// GET /api/audit/verify once needed only audit.read — fails here, and a route missing from the
// table fails too. State-changing calls carry a malformed JSON body: the guard decides before the
// body is parsed, so a call that gets through ends at 400 without changing anything.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, can, type Permission, type Role } from '../../src/domain/permissions.js';
import type { DeclaredRoute } from '../../src/http/auth-guard.js';
import { systemActor } from '../../src/services/context.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * What a route needs: `public` (no session), `authenticated` (any session), a permission, or — for
 * the agent routes, which serve both portals — the permission per session kind (any one of them).
 * `agent-token`: the agent's WebSocket, which takes an agent's bearer token instead of a session.
 */
type Access =
  | 'public'
  | 'agent-token'
  | 'authenticated'
  | Permission
  | { operator: readonly Permission[]; portal: readonly Permission[] };

const AGENT_PAIRING = { operator: ['agent.pair'], portal: ['self.issue'] } as const;

export const ROUTE_ACCESS: Record<string, Access> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /api/meta': 'public',
  'GET /api/health/instances': 'settings.read',
  'GET /api/downloads': 'public',
  'GET /api/openapi.json': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': 'authenticated',
  'GET /api/auth/session': 'authenticated',
  'GET /api/users': 'user.read',
  'POST /api/users': 'user.create',
  'GET /api/users/:id': 'user.read',
  'PATCH /api/users/:id': 'user.update',
  'POST /api/users/:id/suspend': 'user.lifecycle',
  'POST /api/users/:id/reactivate': 'user.lifecycle',
  'POST /api/users/:id/terminate': 'user.lifecycle',
  'GET /api/users/:id/devices': 'device.read',
  'POST /api/users/:id/initial-password': 'initial_password.issue',
  'GET /api/mobile-id-policies': 'policy.read',
  'POST /api/mobile-id-policies': 'policy.write',
  'GET /api/mobile-id-policies/:id': 'policy.read',
  'PUT /api/mobile-id-policies/:id': 'policy.write',
  'DELETE /api/mobile-id-policies/:id': 'policy.write',
  'GET /api/portal/mobile-id': 'self.read',
  'POST /api/portal/mobile-id': 'self.issue',
  'POST /api/portal/mobile-id/card-challenge': 'self.issue',
  'GET /api/portal/mobile-id/:id': 'self.read',
  'POST /api/portal/mobile-id/:id/cancel': 'self.issue',
  'GET /api/users/:id/mobile-ids': 'device.read',
  'POST /api/mobile-ids/:id/suspend': 'certificate.suspend',
  'POST /api/mobile-ids/:id/resume': 'certificate.suspend',
  'POST /api/mobile-ids/:id/revoke': 'certificate.revoke',
  'POST /api/mobile-ids/:id/terminate': 'device.lifecycle',
  'GET /api/mail': 'mail.read',
  'GET /api/mail/:id': 'mail.read',
  'POST /api/mail/:id/resend': 'mail.resend',
  'GET /api/sign-in-throttles': 'user.read',
  'POST /api/sign-in-throttles/lift': 'user.lifecycle',
  'GET /api/devices': 'device.read',
  'POST /api/devices': 'device.register',
  'POST /api/devices/import': 'device.register',
  'GET /api/devices/:id': 'device.read',
  'GET /api/devices/:id/issuance': 'device.read',
  'POST /api/devices/:id/recycle': 'device.recycle',
  'POST /api/devices/:id/initial-pin': 'initial_pin.retrieve',
  'POST /api/devices/:id/replacement': 'request.submit',
  'POST /api/devices/:id/terminate': 'request.submit',
  'POST /api/devices/:id/suspend': 'certificate.suspend',
  'POST /api/devices/:id/resume': 'certificate.suspend',
  'GET /api/devices/:id/holds': 'device.read',
  'GET /api/devices/:id/conformance': 'device.read',
  'POST /api/devices/:id/conformance': 'device.issue',
  'GET /api/requests': 'request.read',
  'GET /api/requests/:id': 'request.read',
  'POST /api/requests/:id/approve': 'request.approve',
  'POST /api/requests/:id/reject': 'request.approve',
  'POST /api/requests/:id/cancel': 'request.submit',
  'POST /api/requests/:id/bind': 'device.bind',
  'POST /api/requests/:id/wallet-link': 'request.submit',
  'POST /api/portal/devices/:id/incident': 'self.incident',
  'GET /api/portal/requests': 'self.read',
  'GET /api/policies': 'policy.read',
  'POST /api/policies': 'policy.write',
  'GET /api/policies/:id': 'policy.read',
  'PUT /api/policies/:id': 'policy.write',
  'GET /api/layouts': 'policy.read',
  'POST /api/layouts': 'policy.write',
  'GET /api/layouts/templates': 'policy.read',
  'GET /api/layouts/properties': 'policy.read',
  'POST /api/layouts/preview': 'policy.read',
  'GET /api/layouts/:id': 'policy.read',
  'PUT /api/layouts/:id': 'policy.write',
  'DELETE /api/layouts/:id': 'policy.write',
  'GET /api/layouts/:id/preview': 'policy.read',
  'GET /api/users/:id/photo': 'user.read',
  'PUT /api/users/:id/photo': 'user.update',
  'DELETE /api/users/:id/photo': 'user.update',
  'GET /api/settings/printing': 'settings.read',
  'GET /api/printers': 'device.bind',
  'POST /api/layouts/:id/print': 'device.issue',
  'PUT /api/settings/printing': 'settings.write',
  'GET /api/settings': 'settings.read',
  'PUT /api/settings': 'settings.write',
  'GET /api/security-questions': 'settings.read',
  'PUT /api/security-questions': 'settings.write',
  'GET /api/audit': 'audit.read',
  'GET /api/audit/verify': 'audit.verify',
  'GET /api/issuance/cards': 'device.bind',
  'POST /api/issuance': 'device.bind',
  'GET /api/issuance/jobs/:id': 'device.read',
  'GET /api/issuance/jobs/:id/events': 'device.read',
  'POST /api/issuance/jobs/:id/retry': 'device.issue',
  'POST /api/issuance/jobs/:id/cancel': 'device.issue',
  'POST /api/issuance/jobs/:id/pin': 'device.issue',
  'GET /api/issuance/jobs/:id/print': 'device.read',
  'POST /api/issuance/jobs/:id/print/continue': 'device.issue',
  'POST /api/issuance/jobs/:id/print/cancel': 'device.issue',
  'POST /api/devices/:id/activate': 'device.issue',
  'PUT /api/printers/preference': 'device.bind',
  'GET /api/certificates': 'certificate.read',
  'GET /api/certificates/:id': 'certificate.read',
  'GET /api/certificates/:id/pem': 'certificate.read',
  'POST /api/certificates/:id/suspend': 'certificate.suspend',
  'POST /api/certificates/:id/reinstate': 'certificate.suspend',
  'POST /api/certificates/:id/revoke': 'certificate.revoke',
  'POST /api/certificates/:id/recover-key': 'key.recover',
  'GET /api/cas': 'ca.read',
  'POST /api/cas/import': 'ca.manage',
  'GET /api/directory': 'directory.manage',
  'PUT /api/directory': 'directory.manage',
  'POST /api/directory/test': 'directory.manage',
  'POST /api/directory/sync': 'directory.manage',
  'POST /api/agents/pairing-codes': AGENT_PAIRING,
  'POST /api/agents/pair': 'public',
  'GET /api/agents': AGENT_PAIRING,
  'GET /api/agents/readers': AGENT_PAIRING,
  'POST /api/agents/:id/revoke': 'authenticated',
  'GET /api/agents/ws': 'agent-token',
  'POST /api/wallet/links': { operator: ['device.issue'], portal: ['self.issue'] },
  'GET /api/wallet/ws': 'public',
  'GET /api/wallet/relay': 'agent-token',
  'POST /api/portal/auth/start': 'public',
  'POST /api/portal/auth/initial-password': 'public',
  'POST /api/portal/auth/directory-password': 'public',
  'POST /api/portal/auth/security-questions': 'public',
  'GET /api/portal/me': 'self.read',
  'GET /api/portal/security-questions': 'self.read',
  'POST /api/portal/security-questions': 'self.read',
  'GET /api/portal/cards': 'self.issue',
  'POST /api/portal/issuance': 'self.issue',
  'GET /api/portal/issuance/open': 'self.issue',
  'GET /api/portal/issuance/jobs/:id': 'self.issue',
  'GET /api/portal/issuance/jobs/:id/events': 'self.issue',
  'GET /api/portal/issuance/jobs/:id/pin-policy': 'self.issue',
  'POST /api/portal/issuance/jobs/:id/retry': 'self.issue',
  'POST /api/portal/issuance/jobs/:id/pin': 'self.issue',
  'GET /api/portal/demo/reader': 'self.issue',
  'POST /api/portal/demo/reader': 'self.issue',
  'GET /pki/ca/:file': 'public',
  'GET /pki/ca/:id/chain.pem': 'public',
  'GET /pki/crl/:file': 'public',
  'POST /pki/ocsp': 'public',
  'GET /pki/ocsp/*': 'public',
};

/** Routes the table covers: the API, the PKI endpoints, health. The OpenAPI viewer and the web app's files are public by design. */
const covered = (r: DeclaredRoute) =>
  (r.url.startsWith('/api/') && !r.url.startsWith('/api/docs')) ||
  r.url.startsWith('/pki/') ||
  r.url === '/healthz' ||
  r.url === '/readyz';

type Caller =
  { label: string; kind: 'anonymous' } | { label: string; kind: 'operator' | 'portal'; role: Role };
interface Session {
  cookie: string;
  csrf: string;
}

/** Whether `caller` should get past the access check of a route needing `access`. */
export function expectedThrough(access: Access, url: string, caller: Caller): boolean {
  if (access === 'public') return true;
  if (access === 'agent-token' || caller.kind === 'anonymous') return false;
  const portalRoute = url.startsWith('/api/portal/');
  if (caller.kind === 'operator' && portalRoute) return false;
  if (access === 'authenticated') return true;
  if (typeof access === 'object') return access[caller.kind].some((p) => can([caller.role], p));
  if (caller.kind === 'portal' && !access.startsWith('self.')) return false;
  return can([caller.role], access);
}

const concrete = (url: string) =>
  url.replace(/:id/g, randomUUID()).replace(/:file/g, 'nothing.crt').replace(/\*$/, 'MAo=');

/** Calls the route as `session`: null when the access check refused it (401/403), else the status. */
async function call(app: FastifyInstance, route: DeclaredRoute, session: Session | null) {
  const unsafe = route.method !== 'GET';
  const res = await app.inject({
    method: route.method as 'GET',
    url: concrete(route.url),
    headers: {
      ...(session ? { cookie: session.cookie, 'x-csrf-token': session.csrf } : {}),
      ...(unsafe ? { 'content-type': 'application/json' } : {}),
    },
    ...(unsafe ? { payload: '{"malformed' } : {}),
  });
  return res.statusCode === 401 || res.statusCode === 403 ? null : res.statusCode;
}

/** The calls whose outcome differs from the table, as readable lines. */
async function mismatches(
  app: FastifyInstance,
  table: Record<string, Access>,
  routes: DeclaredRoute[],
  callers: { caller: Caller; session: Session | null }[],
): Promise<string[]> {
  const out: string[] = [];
  for (const route of routes) {
    const access = table[`${route.method} ${route.url}`];
    if (access === undefined) continue; // reported by the coverage test
    for (const { caller, session } of callers) {
      const status = await call(app, route, session);
      const through = status !== null;
      if (through !== expectedThrough(access, route.url, caller))
        out.push(
          `${route.method} ${route.url} as ${caller.label}: ${through ? `got through (${status})` : 'refused'}, table says ${JSON.stringify(access)}`,
        );
      if (through && status! >= 500) out.push(`${route.method} ${route.url} as ${caller.label}: ${status}`);
    }
  }
  return out;
}

let srv: TestServer;
let routes: DeclaredRoute[];
const callers: { caller: Caller; session: Session | null }[] = [
  { caller: { label: 'nobody', kind: 'anonymous' }, session: null },
];

beforeAll(async () => {
  srv = await startTestServer();
  routes = srv.app.declaredRoutes.filter(covered);
  for (const role of ROLES) {
    const user = await srv.rt.services.users.create(systemActor('test'), {
      username: `only.${role.replace(/_/g, '-')}`,
      displayName: `Only ${role}`,
      roles: [role],
    });
    for (const kind of ['operator', 'portal'] as const) {
      const s = await srv.rt.services.auth.startSession(user, kind, 'test');
      callers.push({
        caller: { label: `${role} (${kind} session)`, kind, role },
        session: { cookie: `tessera_session=${s.token}`, csrf: s.csrfToken },
      });
    }
  }
});
afterAll(async () => srv?.close());

describe('role × route', () => {
  it('the table names every route the app serves, and only those', () => {
    const served = routes.map((r) => `${r.method} ${r.url}`);
    expect(served.length).toBeGreaterThan(70);
    expect(served.filter((k) => !(k in ROUTE_ACCESS))).toEqual([]);
    expect(Object.keys(ROUTE_ACCESS).filter((k) => !served.includes(k))).toEqual([]);
  });

  it('every route lets through exactly the callers the permission matrix allows', async () => {
    expect(callers).toHaveLength(1 + 2 * ROLES.length);
    expect(await mismatches(srv.app, ROUTE_ACCESS, routes, callers)).toEqual([]);
  });

  it('a planted mismatch is caught: audit verification allowed to audit readers', async () => {
    const planted = { ...ROUTE_ACCESS, 'GET /api/audit/verify': 'audit.read' as const };
    const verify = routes.filter((r) => r.url === '/api/audit/verify');
    expect(await mismatches(srv.app, planted, verify, callers)).toEqual([
      'GET /api/audit/verify as helpdesk (operator session): refused, table says "audit.read"',
      'GET /api/audit/verify as validation_officer (operator session): refused, table says "audit.read"',
    ]);
  });
});
