import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { SESSION_COOKIE } from '../auth-guard.js';
import { ErrorResponse, errorResponses } from '../schemas.js';
import { LoginBody, SessionInfo } from '../schemas/auth.js';
import { noContent, ok, op } from '../openapi.js';

export const authRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/api/auth/login',
      {
        config: { public: true },
        schema: {
          ...op('logIn', 'auth', 'Sign in with a username and password; sets the session cookie'),
          body: LoginBody,
          response: {
            200: ok(
              SessionInfo,
              'Signed in: the session cookie is set; the reply holds the person and the CSRF token',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const { username, password } = req.body as LoginBody;
        const s = await rt.services.auth.login(username, password, 'operator', req.ip);
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
      {
        config: { permission: 'authenticated' },
        schema: {
          ...op('logOut', 'auth', 'Sign out: end the session'),
          response: {
            204: noContent('Signed out: the session is ended and its cookie cleared'),
            401: ErrorResponse,
            403: ErrorResponse,
          },
        },
      },
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
          ...op('getSession', 'auth', 'Who is signed in, their permissions, and the CSRF token'),
          response: {
            200: ok(SessionInfo, 'The signed-in person, their permissions and the session’s CSRF token'),
            401: ErrorResponse,
          },
        },
      },
      async (req) => ({ user: req.auth!.me, csrfToken: req.auth!.session.csrfToken }),
    );
  };
