// Sign-in delays (decision 0022): who sees them (user.read — the help desk can tell a caller to
// wait) and who lifts one (user.lifecycle, audited).
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { ThrottleRecord } from '../../services/sign-in-throttle.js';
import { actorOf } from '../auth-guard.js';
import { ok, op } from '../openapi.js';
import { errorResponses } from '../schemas.js';
import {
  LiftSignInDelay,
  SignInDelay,
  SignInDelayList,
  SignInDelayQuery,
} from '../schemas/sign-in-throttles.js';

const toDelay = (r: ThrottleRecord): SignInDelay => ({
  secret: r.secret as SignInDelay['secret'],
  scope: r.scope,
  subject: r.subject,
  name: r.name,
  address: r.address,
  failures: r.failures,
  lastFailureAt: r.lastFailureAt?.toISOString() ?? null,
  until: r.nextAt.toISOString(),
});

export const signInThrottleRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/sign-in-throttles',
      {
        config: { permission: 'user.read' },
        schema: {
          ...op(
            'listSignInDelays',
            'users',
            'Sign-in delays in force (per name, address, or name from one address), longest first',
          ),
          querystring: SignInDelayQuery,
          response: { 200: ok(SignInDelayList, 'The delays in force now'), ...errorResponses },
        },
      },
      async (req) => {
        const { username } = req.query as SignInDelayQuery;
        const items = await rt.services.signInThrottle.list(username ? { username } : {});
        return { items: items.map(toDelay) };
      },
    );

    app.post(
      '/api/sign-in-throttles/lift',
      {
        config: { permission: 'user.lifecycle' },
        schema: {
          ...op(
            'liftSignInDelay',
            'users',
            'End one sign-in delay now (audited as auth.sign_in_delay_lifted)',
          ),
          body: LiftSignInDelay,
          response: { 200: ok(SignInDelay, 'The delay that was lifted, as it stood'), ...errorResponses },
        },
      },
      async (req) =>
        toDelay(await rt.services.signInThrottle.lift(actorOf(req), req.body as LiftSignInDelay)),
    );
  };
