// Mobile ID (reference 004): a person orders one in the user portal (Get Mobile ID → Next → QR code
// shown or e-mailed → Next → created), follows it and cancels it; the operator sees a person's
// mobile IDs on their page and suspends, resumes, revokes or terminates them.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import {
  CardChallenge,
  MobileIdList,
  MobileIdOrdered,
  MobileIdView,
  MyMobileIds,
  OrderMobileId,
  RevokeMobileId,
} from '../schemas/mobile-id.js';

export const mobileIdRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const mobileIds = rt.services.mobileIds;
    const lifecycle = rt.services.mobileIdLifecycle;

    app.get(
      '/api/portal/mobile-id',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op(
            'listMyMobileIds',
            'mobile id',
            'My mobile IDs, and whether I may order one now (and why not)',
          ),
          response: { 200: ok(MyMobileIds, 'My mobile IDs, newest first'), ...errorResponses },
        },
      },
      async (req) => {
        const actor = actorOf(req);
        return { ...(await mobileIds.eligibility(actor)), items: await mobileIds.listOf(actor.id!) };
      },
    );

    app.post(
      '/api/portal/mobile-id',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'orderMobileId',
            'mobile id',
            'Get Mobile ID: start the order; returns the QR code (shown once) or says where it was e-mailed',
          ),
          body: OrderMobileId,
          response: { 201: ok(MobileIdOrdered, 'The order, waiting for the phone'), ...errorResponses },
        },
      },
      async (req, reply) => {
        const ordered = await mobileIds.order(actorOf(req), req.body as OrderMobileId);
        // The QR code carries a one-time code: no cache may keep it.
        reply.header('cache-control', 'no-store');
        return reply.status(201).send(ordered);
      },
    );

    app.post(
      '/api/portal/mobile-id/card-challenge',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'newMobileIdCardChallenge',
            'mobile id',
            'A one-time challenge (2 minutes, this person only) for the PIV card to sign when the mobile ID policy requires the card',
          ),
          response: {
            201: ok(CardChallenge, 'The challenge, to name in POST /api/portal/mobile-id'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        reply.header('cache-control', 'no-store');
        return reply.status(201).send(await rt.services.mobileIdCards.challenge(actorOf(req)));
      },
    );

    app.get(
      '/api/portal/mobile-id/:id',
      {
        config: { permission: 'self.read' },
        schema: {
          ...op('getMyMobileId', 'mobile id', 'One of my mobile IDs: state, its phone, its certificates'),
          params: IdParams,
          response: { 200: ok(MobileIdView, 'The mobile ID'), ...errorResponses },
        },
      },
      async (req) => mobileIds.get(actorOf(req), (req.params as IdParams).id),
    );

    app.post(
      '/api/portal/mobile-id/:id/cancel',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'cancelMyMobileId',
            'mobile id',
            'Cancel: close the order at any step before it is active (code voided, certificates revoked)',
          ),
          params: IdParams,
          response: { 200: ok(MobileIdView, 'The mobile ID, cancelled'), ...errorResponses },
        },
      },
      async (req) => mobileIds.cancel(actorOf(req), (req.params as IdParams).id),
    );

    app.get(
      '/api/users/:id/mobile-ids',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op('listUserMobileIds', 'mobile id', "A person's mobile IDs: state, validity, certificates"),
          params: IdParams,
          response: { 200: ok(MobileIdList, 'Newest first'), ...errorResponses },
        },
      },
      async (req) => ({ items: await mobileIds.listOf((req.params as IdParams).id) }),
    );

    const action = (
      name: 'suspend' | 'resume' | 'revoke' | 'terminate',
      permission: 'certificate.suspend' | 'certificate.revoke' | 'device.lifecycle',
      summary: string,
    ) =>
      app.post(
        `/api/mobile-ids/:id/${name}`,
        {
          config: { permission },
          schema: {
            ...op(`${name}MobileId`, 'mobile id', summary),
            params: IdParams,
            ...(name === 'revoke' ? { body: Type.Optional(RevokeMobileId) } : {}),
            response: { 200: ok(MobileIdView, 'The mobile ID, changed'), ...errorResponses },
          },
        },
        async (req) =>
          lifecycle.act(
            actorOf(req),
            (req.params as IdParams).id,
            name,
            name === 'revoke'
              ? ((req.body as RevokeMobileId | undefined)?.reason ?? 'cessationOfOperation')
              : undefined,
          ),
      );
    action('suspend', 'certificate.suspend', 'Suspend a mobile ID: its certificates on hold');
    action('resume', 'certificate.suspend', 'Resume a suspended mobile ID: its certificates valid again');
    action(
      'revoke',
      'certificate.revoke',
      'Revoke a mobile ID: its certificates revoked (with the reason), its phone ended',
    );
    action(
      'terminate',
      'device.lifecycle',
      'Terminate a mobile ID: its phone ended, its certificates revoked',
    );
  };
