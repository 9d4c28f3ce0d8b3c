// Self-issuance in the user portal (reference 000): the person's own agent and bound card, a
// progress bar, the new PIN at the end, and Retry only when "issuance retry for user" is on.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Runtime } from '../../runtime.js';
import { isSelfIssuance } from '../../services/issuance/job-view.js';
import { actorOf } from '../auth-guard.js';
import { issuanceJobFeed, streamJob } from '../job-events.js';
import { IdParams, Uuid, errorResponses } from '../schemas.js';
import { events, ok, op } from '../openapi.js';
import { ConnectedCards, IssuanceStarted, Job, MyIssuanceStart, OpenIssuance } from '../schemas/issuance.js';
import { PinPolicy } from '../schemas/policies.js';

/**
 * Where the card is now, when it moved since the failure (another reader of one's own agent);
 * no body, `{}` or null retries in the reader the job last used.
 */
const RetryBody = Type.Union([
  Type.Object(
    { agentId: Type.Optional(Uuid), reader: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
const PinBody = Type.Object(
  {
    pin: Type.String({ minLength: 1, maxLength: 16 }),
    confirmation: Type.String({ minLength: 1, maxLength: 16 }),
  },
  { additionalProperties: false },
);

export const portalIssuanceRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const issuance = rt.services.issuance;

    /**
     * A person sees and acts on their own self-issuances only; another's, and one a help desk ran
     * for them (its card is in the operator's agent), is "not found".
     */
    const ownJob = async (req: FastifyRequest) => {
      const id = (req.params as IdParams).id;
      const job = await issuance.jobs.get(id);
      if (!isSelfIssuance(job, req.auth!.user.id)) throw new NotFoundError('issuance job', id);
      return job;
    };

    app.get(
      '/api/portal/cards',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op('listMyCards', 'user portal', 'The cards in the readers of my paired agent'),
          response: { 200: ok(ConnectedCards, 'The cards found in my agent’s readers'), ...errorResponses },
        },
      },
      async (req) => ({
        items: (await issuance.cards.list(req.auth!.user.id)).map((c) =>
          // Whose card it is stays private: the portal learns only whether it is bound to me.
          c.device && c.device.userId !== req.auth!.user.id
            ? { ...c, device: null, status: 'in_use' as const }
            : c,
        ),
      }),
    );

    app.post(
      '/api/portal/issuance',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'startMyIssuance',
            'user portal',
            'Personalize the card bound to me that is in my reader (with requestId: the replacement of my request; it completes on success)',
          ),
          body: MyIssuanceStart,
          response: {
            202: ok(IssuanceStarted, 'Accepted: the job that personalizes my card'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const b = req.body as MyIssuanceStart;
        return reply
          .status(202)
          .send(
            await issuance.starter.startSelf(
              actorOf(req),
              { agentId: b.agentId, reader: b.reader },
              b.requestId,
            ),
          );
      },
    );

    app.get(
      '/api/portal/issuance/open',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'getMyOpenIssuance',
            'user portal',
            'My issuance that still needs me (running, waiting for my PIN, or failed), if any',
          ),
          response: { 200: ok(OpenIssuance, 'My issuance that still needs me, or none'), ...errorResponses },
        },
      },
      async (req) => (await issuance.jobs.openForUser(req.auth!.user.id)) ?? { device: null, job: null },
    );

    app.get(
      '/api/portal/issuance/jobs/:id',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op('getMyIssuanceJob', 'user portal', 'My issuance: progress, step, error'),
          params: IdParams,
          response: { 200: ok(Job, 'My issuance job: status, progress, step, error'), ...errorResponses },
        },
      },
      async (req) => ownJob(req),
    );

    app.get(
      '/api/portal/issuance/jobs/:id/events',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'streamMyIssuanceJob',
            'user portal',
            'Server-sent events: my issuance each time it changes, until it ends',
          ),
          params: IdParams,
          response: {
            200: events(
              'Server-sent events: `event: job` with the job as getMyIssuanceJob returns it, each time it changes; the stream ends when the job does',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const job = await ownJob(req); // another's job is a 404 before the stream starts
        await streamJob(issuanceJobFeed(issuance), job.id, req, reply);
      },
    );

    app.get(
      '/api/portal/issuance/jobs/:id/pin-policy',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'getMyPinPolicy',
            'user portal',
            'The PIN rules my new PIN must meet (from the policy of the card being issued)',
          ),
          params: IdParams,
          response: { 200: ok(PinPolicy, 'The rules my new PIN must meet'), ...errorResponses },
        },
      },
      async (req) => (await rt.services.policies.get((await ownJob(req)).policyId)).pinPolicy,
    );

    app.post(
      '/api/portal/issuance/jobs/:id/retry',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'retryMyIssuanceJob',
            'user portal',
            'Retry my failed issuance (when the administrator allows it); give agentId and reader if the card moved',
          ),
          params: IdParams,
          body: RetryBody,
          response: { 200: ok(Job, 'My issuance job, running again'), ...errorResponses },
        },
      },
      async (req) => {
        const job = await ownJob(req);
        if (!(await rt.services.settings.getSecurity()).issuanceRetryForUser)
          throw new ForbiddenError(
            'Retrying is not enabled for users: choose Done and contact your help desk',
          );
        const b = (req.body as Static<typeof RetryBody> | undefined) ?? {};
        if ((b.agentId === undefined) !== (b.reader === undefined))
          throw new ValidationError(
            'Give both agentId and reader (where the card is now), or neither to use the reader of the last attempt',
          );
        // The card is looked for among the agents of the actor, the signed-in person: never another's.
        const card = b.agentId && b.reader ? { agentId: b.agentId, reader: b.reader } : undefined;
        return issuance.retry.retry(actorOf(req), job.id, card);
      },
    );

    app.post(
      '/api/portal/issuance/jobs/:id/pin',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op('setMyIssuancePin', 'user portal', 'Set my new PIN at the end of personalization'),
          params: IdParams,
          body: PinBody,
          response: { 200: ok(Job, 'My issuance job, finishing with my new PIN set'), ...errorResponses },
        },
      },
      async (req) => {
        const job = await ownJob(req);
        const b = req.body as Static<typeof PinBody>;
        return issuance.pinChange.change(actorOf(req), job.id, b.pin, b.confirmation);
      },
    );
  };
