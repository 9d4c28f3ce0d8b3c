// Mobile ID policies (reference 004, "Options"): the administrator's settings (policy.write), read
// by whoever may read device policies (policy.read).
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses } from '../schemas.js';
import { noContent, ok, op } from '../openapi.js';
import { MobileIdPolicy, MobileIdPolicyInput, MobileIdPolicyList } from '../schemas/mobile-id.js';

export const mobileIdPolicyRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const policies = rt.services.mobileIdPolicies;

    app.get(
      '/api/mobile-id-policies',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('listMobileIdPolicies', 'mobile id', 'Mobile ID policies'),
          response: { 200: ok(MobileIdPolicyList, 'Every mobile ID policy, by name'), ...errorResponses },
        },
      },
      async () => {
        const items = await policies.list();
        return { items, total: items.length };
      },
    );

    app.post(
      '/api/mobile-id-policies',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op('createMobileIdPolicy', 'mobile id', 'Create a mobile ID policy'),
          body: MobileIdPolicyInput,
          response: { 201: ok(MobileIdPolicy, 'The policy, created'), ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await policies.create(actorOf(req), req.body as MobileIdPolicyInput)),
    );

    app.get(
      '/api/mobile-id-policies/:id',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('getMobileIdPolicy', 'mobile id', 'One mobile ID policy'),
          params: IdParams,
          response: { 200: ok(MobileIdPolicy, 'The policy'), ...errorResponses },
        },
      },
      async (req) => policies.get((req.params as IdParams).id),
    );

    app.put(
      '/api/mobile-id-policies/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op('updateMobileIdPolicy', 'mobile id', 'Change a mobile ID policy (applies to new orders)'),
          params: IdParams,
          body: MobileIdPolicyInput,
          response: { 200: ok(MobileIdPolicy, 'The policy, changed'), ...errorResponses },
        },
      },
      async (req) =>
        policies.update(actorOf(req), (req.params as IdParams).id, req.body as MobileIdPolicyInput),
    );

    app.delete(
      '/api/mobile-id-policies/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op(
            'deleteMobileIdPolicy',
            'mobile id',
            'Delete a mobile ID policy nothing was ordered under (409 otherwise: disable it)',
          ),
          params: IdParams,
          response: { 204: noContent('Deleted'), ...errorResponses },
        },
      },
      async (req, reply) => {
        await policies.delete(actorOf(req), (req.params as IdParams).id);
        return reply.status(204).send();
      },
    );
  };
