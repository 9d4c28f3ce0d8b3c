// The session and RBAC guard. Every route declares either `config.public` or a
// `config.permission` (or 'authenticated'); a route under /api that declares neither is refused at
// start-up, so nothing can be exposed by forgetting a line (deny by default). State-changing calls
// must echo the session's CSRF token in the x-csrf-token header.
// The declaration is the one place that decides whether a person may make a call at all; handlers
// check nothing more of roles, and use cases check only rules that depend on the call's data
// (docs/decisions/0011).
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Permission } from '../domain/permissions.js';
import type { Runtime } from '../runtime.js';
import type { ResolvedSession } from '../services/auth-service.js';
import type { Actor } from '../services/context.js';
import { errorBody } from './errors.js';

export const SESSION_COOKIE = 'tessera_session';

/**
 * A permission per kind of session, for a route both portals call: an operator pairs an agent with
 * agent.pair, a person in the user portal with self.issue.
 */
export interface PermissionBySession {
  operator: Permission;
  portal: Permission & `self.${string}`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a caller needs, or 'authenticated' for any signed-in person. */
    permission?: Permission | 'authenticated' | PermissionBySession;
    /** No session needed (health, login, CA downloads, OCSP, the web app's files). */
    public?: boolean;
    /** Skips the CSRF check (login: there is no session yet). */
    noCsrf?: boolean;
  }
  interface FastifyRequest {
    auth: ResolvedSession | null;
  }
  interface FastifyInstance {
    /** Every route as the guard saw it declared, in registration order (tests walk all routes). */
    declaredRoutes: readonly DeclaredRoute[];
  }
}

export interface DeclaredRoute {
  method: string;
  /** Fastify's pattern, e.g. `/api/users/:id`. */
  url: string;
  access: Permission | 'authenticated' | PermissionBySession | 'public';
}

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The actor for audit events, from the request's session. */
export function actorOf(req: FastifyRequest): Actor {
  const a = req.auth;
  if (!a) throw new Error('actorOf called on a request without a session');
  return {
    id: a.user.id,
    name: a.user.username,
    roles: a.user.roles,
    permissions: a.me.permissions,
    correlationId: String(req.id),
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function registerAuthGuard(app: FastifyInstance, rt: Runtime): void {
  app.decorateRequest('auth', null);
  const declared: DeclaredRoute[] = [];
  app.decorate('declaredRoutes', declared);

  app.addHook('onRoute', (route) => {
    const cfg = (route.config ?? {}) as {
      permission?: Permission | 'authenticated' | PermissionBySession;
      public?: boolean;
    };
    const url = route.url;
    const record = (access: DeclaredRoute['access']) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') declared.push({ method, url, access });
    };
    if (url.startsWith('/api/docs') || !url.startsWith('/api/')) {
      // Plugin routes (OpenAPI viewer, static files) and /pki, /healthz declare themselves public.
      if (!cfg.permission && cfg.public === undefined)
        route.config = { ...cfg, public: true } as typeof route.config;
      record(cfg.permission ?? 'public');
      return;
    }
    if (!cfg.public && !cfg.permission)
      throw new Error(
        `Route ${String(route.method)} ${url} declares neither config.public nor config.permission`,
      );
    record(cfg.public ? 'public' : cfg.permission!);
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const cfg = req.routeOptions.config;
    const cid = String(req.id);
    // No route matched: the not-found handler answers (and reveals nothing).
    if (req.routeOptions.url === undefined) return;
    const token = req.cookies[SESSION_COOKIE];
    if (cfg.public) {
      // Public routes still see who is signed in (login page, /api/meta), but never require it.
      if (token && req.url.startsWith('/api/')) req.auth = await rt.services.auth.resolve(token);
      return;
    }
    if (!cfg.permission) return reply.status(403).send(errorBody('forbidden', 'This route is closed', cid));
    const auth = await rt.services.auth.resolve(token);
    if (!auth) {
      if (token) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply
        .status(401)
        .send(
          errorBody('unauthenticated', 'Your session has ended or you are not signed in: sign in again', cid),
        );
    }
    req.auth = auth;
    const permission =
      typeof cfg.permission === 'object' ? cfg.permission[auth.session.kind] : cfg.permission;
    if (UNSAFE_METHODS.has(req.method) && !cfg.noCsrf) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, auth.session.csrfToken))
        return reply
          .status(403)
          .send(
            errorBody(
              'csrf_failed',
              'The x-csrf-token header is missing or wrong: reload the page (or read csrfToken from GET /api/auth/session)',
              cid,
            ),
          );
    }
    // User-portal and operator sessions are kept apart: a portal session (signed in with an initial
    // password, directory password or security answers) may only reach self-service routes, even
    // when the person holds operator roles; the portal's own routes need a portal session.
    const portalRoute = req.routeOptions.url.startsWith('/api/portal/');
    if (auth.session.kind === 'portal' && permission !== 'authenticated' && !permission.startsWith('self.'))
      return reply
        .status(403)
        .send(
          errorBody(
            'forbidden',
            'A user-portal session cannot do operator work: sign in to the operator portal',
            cid,
            { permission, sessionKind: 'portal' },
          ),
        );
    if (portalRoute && auth.session.kind !== 'portal')
      return reply.status(403).send(
        errorBody('forbidden', 'This is a user-portal route: sign in to the user portal', cid, {
          sessionKind: auth.session.kind,
        }),
      );
    // The session's permissions: its roles' (toMe), narrowed to self.* in a portal session.
    if (permission !== 'authenticated' && !auth.me.permissions.includes(permission))
      return reply
        .status(403)
        .send(
          errorBody(
            'forbidden',
            `Your roles (${auth.user.roles.join(', ')}) do not allow this (needs ${permission})`,
            cid,
            { permission },
          ),
        );
  });
}
