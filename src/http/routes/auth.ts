import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { SESSION_COOKIE } from '../auth-guard.js';
import { ErrorResponse, errorResponses } from '../schemas.js';
import { LoginBody, SessionInfo } from '../schemas/auth.js';

export const authRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { public: true },
        schema: {
          tags: ['auth'],
          summary: 'Sign in with a username and password; sets the session cookie',
          security: [],
          body: LoginBody,
          response: { 200: SessionInfo, ...errorResponses, 423: ErrorResponse },
        },
      },
      async (req, reply) => {
        const { username, password } = req.body as LoginBody;
        const s = await rt.services.auth.login(username, password);
        reply.setCookie(SESSION_COOKIE, s.token, {
          path: '/',
          httpOnly: true,
          sameSite: 'strict',
          secure: rt.config.secureCookies,
          expires: s.expiresAt,
        });
        return { user: s.user, csrfToken: s.csrfToken };
      },
    );

    app.post(
      '/api/auth/logout',
      { config: { permission: 'authenticated' }, schema: { tags: ['auth'], summary: 'Sign out' } },
      async (req, reply) => {
        await rt.services.auth.logout(req.cookies[SESSION_COOKIE]);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/auth/session',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags: ['auth'],
          summary: 'Who is signed in, their permissions, and the CSRF token',
          response: { 200: SessionInfo, 401: ErrorResponse },
        },
      },
      async (req) => ({ user: req.auth!.me, csrfToken: req.auth!.session.csrfToken }),
    );
  };
