// The user portal's sign-in and the signed-in person's own view (reference 000 step 5): which
// methods a person may use, sign-in with an initial password, the directory password or security
// answers (each opens a portal session), setting one's security answers, and "me".
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { PortalSignedIn } from '../../services/portal-auth-service.js';
import { SESSION_COOKIE, actorOf } from '../auth-guard.js';
import { ErrorResponse, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import {
  AnswersSignInBody,
  PasswordBody,
  PortalMe,
  PortalSignedIn as SignInReply,
  QuestionStatus,
  SetAnswersBody,
  SignInOptions,
  StartBody,
} from '../schemas/portal-auth.js';

const signInResponses = {
  200: ok(
    SignInReply,
    'Signed in to the user portal: the session cookie is set; the reply holds the CSRF token',
  ),
  ...errorResponses,
  423: ErrorResponse,
  502: ErrorResponse,
};

export const portalAuthRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const portal = rt.services.portalAuth;

    const signedIn = (reply: FastifyReply, s: PortalSignedIn) => {
      reply.setCookie(SESSION_COOKIE, s.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: rt.config.secureCookies,
        expires: s.expiresAt,
      });
      return { user: s.user, csrfToken: s.csrfToken, mustSetQuestions: s.mustSetQuestions };
    };

    // Sign-in steps are public (there is no session yet) and so carry no CSRF token; the cookie
    // is SameSite=Strict and bodies must be JSON, so another site cannot post them for a browser.
    app.post(
      '/api/portal/auth/start',
      {
        config: { public: true },
        schema: {
          ...op(
            'startPortalSignIn',
            'portal',
            'The sign-in methods the portal offers and the questions to answer (the same reply for unknown names)',
          ),
          body: StartBody,
          response: {
            200: ok(
              SignInOptions,
              'The sign-in methods offered and, for security questions, the questions to answer',
            ),
            ...errorResponses,
          },
        },
      },
      async (req) => portal.start((req.body as StartBody).username),
    );

    /** A public sign-in step: its body checked by `body`, the service call, the session cookie. */
    const signInRoute = <B extends TSchema>(
      path: string,
      operationId: string,
      summary: string,
      body: B,
      run: (b: Static<B>, from: string) => Promise<PortalSignedIn>,
    ) =>
      app.post(
        path,
        {
          config: { public: true },
          schema: { ...op(operationId, 'portal', summary), body, response: signInResponses },
        },
        async (req, reply) => signedIn(reply, await run(req.body as Static<B>, req.ip)),
      );

    signInRoute(
      '/api/portal/auth/initial-password',
      'signInWithInitialPassword',
      'Sign in to the user portal with a one-time initial password',
      PasswordBody,
      (b, from) => portal.signInWithInitialPassword(b.username, b.password, from),
    );
    signInRoute(
      '/api/portal/auth/directory-password',
      'signInWithDirectoryPassword',
      'Sign in to the user portal with the directory (LDAP) password',
      PasswordBody,
      (b, from) => portal.signInWithDirectoryPassword(b.username, b.password, from),
    );
    signInRoute(
      '/api/portal/auth/security-questions',
      'signInWithSecurityQuestions',
      'Sign in to the user portal by answering one’s security questions',
      AnswersSignInBody,
      (b, from) => portal.signInWithSecurityQuestions(b.username, b.answers, from),
    );

    app.get(
      '/api/portal/security-questions',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op(
            'getMySecurityQuestions',
            'portal',
            'The questions to choose from and those answered (never the answers)',
          ),
          response: {
            200: ok(QuestionStatus, 'The questions to choose from and which ones I have answered'),
            ...errorResponses,
          },
        },
      },
      async (req) => portal.questionStatus(req.auth!.user.id),
    );

    app.post(
      '/api/portal/security-questions',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op(
            'setMySecurityAnswers',
            'portal',
            'Set or replace one’s security answers (exactly securityQuestionCount active questions)',
          ),
          body: SetAnswersBody,
          response: {
            200: ok(QuestionStatus, 'My answers, saved: which questions are answered'),
            ...errorResponses,
          },
        },
      },
      async (req) => portal.setQuestions(actorOf(req), (req.body as SetAnswersBody).answers),
    );

    app.get(
      '/api/portal/me',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op('getMe', 'portal', 'The signed-in person, their devices and their security-question status'),
          response: {
            200: ok(PortalMe, 'Me, my devices and my security-question status'),
            ...errorResponses,
          },
        },
      },
      async (req) => portal.me(req.auth!.user),
    );
  };
