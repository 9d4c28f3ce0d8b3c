import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { issuanceJobFeed, streamJob } from '../job-events.js';
import { Device, IdParams, Uuid, errorResponses } from '../schemas.js';
import { events, file, ok, op } from '../openapi.js';
import { ValidationError } from '../../domain/errors.js';
import {
  CardBody,
  ConnectedCards,
  DeviceIssuance,
  InitialPin,
  IssuanceStart,
  IssuanceStarted,
  Job,
  Pin,
} from '../schemas/issuance.js';

const RetryBody = Type.Object(
  { agentId: Type.Optional(Uuid), reader: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
  { additionalProperties: false },
);
const PinChangeBody = Type.Object({ pin: Pin, confirmation: Pin }, { additionalProperties: false });
export const issuanceRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const issuance = rt.services.issuance;

    app.get(
      '/api/issuance/cards',
      {
        config: { permission: 'device.bind' },
        schema: {
          ...op(
            'listIssuanceCards',
            'issuance',
            "The cards in the readers of the signed-in operator's paired agents",
          ),
          response: {
            200: ok(
              ConnectedCards,
              'The cards found in the readers, each with what it is and whom it is bound to',
            ),
            ...errorResponses,
          },
        },
      },
      async (req) => ({ items: await issuance.cards.list(req.auth!.user.id) }),
    );

    app.post(
      '/api/issuance',
      {
        config: { permission: 'device.bind' },
        schema: {
          ...op(
            'startIssuance',
            'issuance',
            'Issue (personalize) or bind the card in a reader for a person; issuance runs in the background. With requestId: the replacement of that request (local issuance, or binding for self-enrollment); on success the request completes',
          ),
          body: IssuanceStart,
          response: {
            202: ok(
              IssuanceStarted,
              'Accepted: the job that runs the issuance (follow it with getIssuanceJob or its events)',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const b = req.body as IssuanceStart;
        if ((b.printerId === undefined) !== (b.layoutId === undefined))
          throw new ValidationError('To print the card, give both printerId and layoutId');
        // Issuing rather than binding also needs device.issue: the use case checks it (decision 0011).
        const out = await issuance.starter.start(actorOf(req), {
          userId: b.userId,
          card: { agentId: b.agentId, reader: b.reader },
          action: b.action,
          ...(b.policyId !== undefined ? { policyId: b.policyId } : {}),
          ...(b.requestId !== undefined ? { requestId: b.requestId } : {}),
          ...(b.pin !== undefined ? { pin: b.pin } : {}),
          ...(b.pinConfirmation !== undefined ? { pinConfirmation: b.pinConfirmation } : {}),
          ...(b.printerId && b.layoutId ? { print: { printerId: b.printerId, layoutId: b.layoutId } } : {}),
        });
        return reply.status(202).send(out);
      },
    );

    app.get(
      '/api/issuance/jobs/:id',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op('getIssuanceJob', 'issuance', 'An issuance job: status, progress, current step, error'),
          params: IdParams,
          response: { 200: ok(Job, 'The job: status, progress, current step, error'), ...errorResponses },
        },
      },
      async (req) => issuance.jobs.get((req.params as IdParams).id),
    );

    app.get(
      '/api/issuance/jobs/:id/events',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op(
            'streamIssuanceJob',
            'issuance',
            'Server-sent events: the job each time it changes, until it ends',
          ),
          params: IdParams,
          response: {
            200: events(
              'Server-sent events: `event: job` with the job as getIssuanceJob returns it, each time it changes; the stream ends when the job does',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const id = (req.params as IdParams).id;
        await issuance.jobs.get(id); // an unknown job is a 404 before the stream starts
        await streamJob(issuanceJobFeed(issuance), id, req, reply);
      },
    );

    app.post(
      '/api/issuance/jobs/:id/retry',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'retryIssuanceJob',
            'issuance',
            'Retry a failed issuance on the same device with the same policy',
          ),
          params: IdParams,
          body: RetryBody,
          response: { 200: ok(Job, 'The job, running again'), ...errorResponses },
        },
      },
      async (req) => {
        const b = req.body as Static<typeof RetryBody>;
        return issuance.retry.retry(
          actorOf(req),
          (req.params as IdParams).id,
          b.agentId && b.reader ? { agentId: b.agentId, reader: b.reader } : undefined,
        );
      },
    );

    app.post(
      '/api/issuance/jobs/:id/cancel',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'cancelIssuanceJob',
            'issuance',
            'Cancel a failed issuance: the device leaves the person and awaits recycling (a card already encoded, whose print failed, stays pending instead)',
          ),
          params: IdParams,
          response: { 200: ok(Job, 'The job, cancelled'), ...errorResponses },
        },
      },
      async (req) => issuance.cancel.cancel(actorOf(req), (req.params as IdParams).id),
    );

    app.get(
      '/api/issuance/jobs/:id/print',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op(
            'getIssuancePrint',
            'issuance',
            'The card the job printed: the PDF exactly as sent to the printer (both sides)',
          ),
          params: IdParams,
          response: {
            200: file('The printed card, one page per side', { 'application/pdf': 'PDF' }),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const p = await issuance.printStep.document((req.params as IdParams).id);
        return reply
          .type('application/pdf')
          .header('etag', `"${p.sha256}"`)
          .header('x-print-job-id', String(p.ippJobId ?? ''))
          .send(p.pdf);
      },
    );

    app.post(
      '/api/issuance/jobs/:id/print/continue',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'continueIssuancePrint',
            'issuance',
            'The print step’s Continue: the printed card is right, the device becomes active',
          ),
          params: IdParams,
          response: { 200: ok(Job, 'The job, succeeded'), ...errorResponses },
        },
      },
      async (req) => issuance.printStep.continue(actorOf(req), (req.params as IdParams).id),
    );

    app.post(
      '/api/issuance/jobs/:id/print/cancel',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'cancelIssuancePrint',
            'issuance',
            'The print step’s Cancel: the card is not activated; the device stays pending (activate or recycle it later)',
          ),
          params: IdParams,
          response: { 200: ok(Job, 'The job, cancelled; its device pending'), ...errorResponses },
        },
      },
      async (req) => issuance.printStep.cancel(actorOf(req), (req.params as IdParams).id),
    );

    app.post(
      '/api/devices/:id/activate',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'activateDevice',
            'issuance',
            'Activate a pending device (its print step was cancelled): it becomes active',
          ),
          params: IdParams,
          response: { 200: ok(Device, 'The device, active'), ...errorResponses },
        },
      },
      async (req) => issuance.printStep.activate(actorOf(req), (req.params as IdParams).id),
    );

    app.post(
      '/api/issuance/jobs/:id/pin',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'setIssuancePin',
            'issuance',
            'Set the new PIN at the end of issuance (initial PIN not displayed, change PIN during issuance)',
          ),
          params: IdParams,
          body: PinChangeBody,
          response: { 200: ok(Job, 'The job, finishing with the new PIN set'), ...errorResponses },
        },
      },
      async (req) => {
        const b = req.body as Static<typeof PinChangeBody>;
        return issuance.pinChange.change(actorOf(req), (req.params as IdParams).id, b.pin, b.confirmation);
      },
    );

    app.get(
      '/api/devices/:id/issuance',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op(
            'getDeviceIssuance',
            'issuance',
            "A device's latest issuance job and whether its initial PIN can be retrieved",
          ),
          params: IdParams,
          response: {
            200: ok(
              DeviceIssuance,
              "The device's latest job (or none) and whether its initial PIN can be retrieved",
            ),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const id = (req.params as IdParams).id;
        await rt.services.devices.get(id);
        return {
          job: await issuance.jobs.latestForDevice(id),
          initialPinAvailable: await issuance.initialPin.available(id),
        };
      },
    );

    app.post(
      '/api/devices/:id/recycle',
      {
        config: { permission: 'device.recycle' },
        schema: {
          ...op(
            'recycleDevice',
            'issuance',
            'Wipe a card left by a failed issuance (or a terminated one) and return it to inventory',
          ),
          params: IdParams,
          body: CardBody,
          response: { 200: ok(Device, 'The device, wiped and back in inventory'), ...errorResponses },
        },
      },
      async (req) =>
        issuance.recycle.recycle(actorOf(req), (req.params as IdParams).id, req.body as CardBody),
    );

    app.post(
      '/api/devices/:id/initial-pin',
      {
        config: { permission: 'initial_pin.retrieve' },
        schema: {
          ...op(
            'retrieveInitialPin',
            'issuance',
            'Get Initial PIN: a one-time, audited retrieval (initial PIN mode "not displayed")',
          ),
          params: IdParams,
          response: {
            200: ok(InitialPin, 'The initial PIN (shown once; a second retrieval is refused)'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        reply.header('cache-control', 'no-store');
        return issuance.initialPin.retrieve(actorOf(req), (req.params as IdParams).id);
      },
    );
  };
