import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, listOf } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { Policy, PolicyInput } from '../schemas/policies.js';

export const policyRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const policies = rt.services.policies;

    app.get(
      '/api/policies',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('listPolicies', 'device policies', 'Device policies'),
          response: { 200: ok(listOf(Policy), 'Every device policy'), ...errorResponses },
        },
      },
      async () => {
        const items = await policies.list();
        return { items, total: items.length };
      },
    );

    app.post(
      '/api/policies',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op('createPolicy', 'device policies', 'Create a device policy'),
          body: PolicyInput,
          response: { 201: ok(Policy, 'The policy, created'), ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await policies.create(actorOf(req), req.body as PolicyInput)),
    );

    app.get(
      '/api/policies/:id',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('getPolicy', 'device policies', 'One device policy'),
          params: IdParams,
          response: { 200: ok(Policy, 'The policy'), ...errorResponses },
        },
      },
      async (req) => policies.get((req.params as IdParams).id),
    );

    app.put(
      '/api/policies/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op(
            'replacePolicy',
            'device policies',
            'Replace a device policy (devices already issued keep what they were issued with)',
          ),
          params: IdParams,
          body: PolicyInput,
          response: { 200: ok(Policy, 'The policy as replaced'), ...errorResponses },
        },
      },
      async (req) => policies.update(actorOf(req), (req.params as IdParams).id, req.body as PolicyInput),
    );
  };
