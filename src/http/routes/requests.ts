// Replacement requests (reference 003) and device suspension over HTTP. Each route declares who may
// call it (docs/decisions/0011); the use cases check what depends on the data: four-eyes on
// decisions, a device that is yours in the portal, an administrator for ending a device that is
// not a temporary replacement.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { Device, IdParams, errorResponses, listOf, type Paged } from '../schemas.js';
import { ok, op } from '../openapi.js';
import {
  BindBody,
  DecisionBody,
  DeviceHolds,
  IncidentBody,
  ReplacementBody,
  Request,
  RequestDetail,
  RequestSearch,
  SuspendBody,
  Termination,
} from '../schemas/requests.js';

export const requestRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const r = rt.services.replacement;
    const detail = (id: string) => r.queries.get(id);

    app.post(
      '/api/devices/:id/replacement',
      {
        config: { permission: 'request.submit' },
        schema: {
          ...op(
            'requestReplacement',
            'replacement',
            'Request a replacement: the device is invalidated and its credentials put on hold at once (certificateHold)',
          ),
          params: IdParams,
          body: ReplacementBody,
          response: { 201: ok(RequestDetail, 'The request, with its history'), ...errorResponses },
        },
      },
      async (req, reply) => {
        const made = await r.submit.request(
          actorOf(req),
          (req.params as IdParams).id,
          req.body as ReplacementBody,
        );
        return reply.status(201).send(await detail(made.id));
      },
    );

    app.get(
      '/api/requests',
      {
        config: { permission: 'request.read' },
        schema: {
          ...op(
            'listRequests',
            'replacement',
            'Requests, newest first, filtered by state, kind and person (the queues)',
          ),
          querystring: RequestSearch,
          response: {
            200: ok(listOf(Request), 'A page of the requests that match, and how many match in all'),
            ...errorResponses,
          },
        },
      },
      async (req) => r.queries.list(req.query as Paged<RequestSearch>),
    );

    app.get(
      '/api/requests/:id',
      {
        config: { permission: 'request.read' },
        schema: {
          ...op('getRequest', 'replacement', 'One request with its history (who did each step, when)'),
          params: IdParams,
          response: { 200: ok(RequestDetail, 'The request, with its history'), ...errorResponses },
        },
      },
      async (req) => detail((req.params as IdParams).id),
    );

    const decisions = [
      ['approve', 'approveRequest', 'request.approve', 'Approve a request the person declared (four-eyes)'],
      [
        'reject',
        'rejectRequest',
        'request.approve',
        'Reject a request the person declared: the original is restored (four-eyes)',
      ],
      [
        'cancel',
        'cancelRequest',
        'request.submit',
        'Cancel a request: the original is restored, a bound replacement device unbound',
      ],
    ] as const;
    for (const [action, operationId, permission, summary] of decisions)
      app.post(
        `/api/requests/:id/${action}`,
        {
          config: { permission },
          schema: {
            ...op(operationId, 'replacement', summary),
            params: IdParams,
            body: Type.Optional(DecisionBody),
            response: {
              200: ok(RequestDetail, 'The request as it is now, with its history'),
              ...errorResponses,
            },
          },
        },
        async (req) => {
          const id = (req.params as IdParams).id;
          const body = (req.body as DecisionBody | undefined) ?? {};
          const actor = actorOf(req);
          if (action === 'approve') await r.decide.approve(actor, id, body);
          else if (action === 'reject') await r.decide.reject(actor, id, body);
          else await r.cancel.cancel(actor, id, body);
          return detail(id);
        },
      );

    app.post(
      '/api/requests/:id/bind',
      {
        config: { permission: 'device.bind' },
        schema: {
          ...op(
            'bindReplacementDevice',
            'replacement',
            'Bind a blank device to the person for their replacement (self-enrollment)',
          ),
          params: IdParams,
          body: BindBody,
          response: { 200: ok(RequestDetail, 'The request, bound to the device'), ...errorResponses },
        },
      },
      async (req) => {
        const id = (req.params as IdParams).id;
        const body = req.body as BindBody;
        await r.bind.bind(actorOf(req), id, body.deviceId, body.version);
        return detail(id);
      },
    );

    app.post(
      '/api/devices/:id/terminate',
      {
        config: { permission: 'request.submit' },
        schema: {
          ...op(
            'terminateDevice',
            'replacement',
            'End a temporary replacement device (the original is restored), or any device as an administrator',
          ),
          params: IdParams,
          body: Type.Optional(SuspendBody),
          response: {
            200: ok(Termination, 'The terminated device, and the temporary request it ended (or null)'),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const out = await r.terminate.terminate(actorOf(req), (req.params as IdParams).id);
        return { device: out.device, request: out.request ? await detail(out.request.id) : null };
      },
    );

    app.post(
      '/api/devices/:id/suspend',
      {
        config: { permission: 'certificate.suspend' },
        schema: {
          ...op(
            'suspendDevice',
            'replacement',
            'Suspend an active device: every credential on it on hold (certificateHold)',
          ),
          params: IdParams,
          body: Type.Optional(SuspendBody),
          response: { 200: ok(Device, 'The device, suspended'), ...errorResponses },
        },
      },
      async (req) =>
        r.suspension.suspend(
          actorOf(req),
          (req.params as IdParams).id,
          (req.body as SuspendBody | undefined)?.note ?? '',
        ),
    );

    app.post(
      '/api/devices/:id/resume',
      {
        config: { permission: 'certificate.suspend' },
        schema: {
          ...op(
            'resumeDevice',
            'replacement',
            'Resume a suspended device: the holds its suspension placed are released',
          ),
          params: IdParams,
          body: Type.Optional(SuspendBody),
          response: {
            200: ok(Device, 'The device, resumed (still invalid if a replacement request names it)'),
            ...errorResponses,
          },
        },
      },
      async (req) => r.suspension.resume(actorOf(req), (req.params as IdParams).id),
    );

    app.get(
      '/api/devices/:id/holds',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op(
            'getDeviceHolds',
            'replacement',
            'Why a device and its credentials are held: its requests, its suspension, each hold',
          ),
          params: IdParams,
          response: {
            200: ok(DeviceHolds, 'The device’s requests, suspension and holds'),
            ...errorResponses,
          },
        },
      },
      async (req) => r.queries.deviceHolds((req.params as IdParams).id),
    );

    app.post(
      '/api/portal/devices/:id/incident',
      {
        config: { permission: 'self.incident' },
        schema: {
          ...op(
            'declareIncident',
            'user portal',
            'Report a problem with your device: a replacement request is created and waits for a validation officer',
          ),
          params: IdParams,
          body: IncidentBody,
          response: { 201: ok(Request, 'The request, waiting for a validation officer'), ...errorResponses },
        },
      },
      async (req, reply) => {
        const made = await r.submit.declareIncident(
          actorOf(req),
          (req.params as IdParams).id,
          req.body as IncidentBody,
        );
        return reply.status(201).send(await detail(made.id));
      },
    );

    app.get(
      '/api/portal/requests',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op('listMyRequests', 'user portal', 'Your replacement requests and their state'),
          response: {
            200: ok(Type.Object({ items: Type.Array(Request) }), 'Your requests, newest first'),
            ...errorResponses,
          },
        },
      },
      async (req) => ({ items: await r.queries.forPerson(actorOf(req).id!) }),
    );
  };
