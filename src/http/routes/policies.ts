import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, listOf } from '../schemas.js';
import { Policy, PolicyInput } from '../schemas/policies.js';

export const policyRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const policies = rt.services.policies;
    const tags = ['device policies'];

    app.get(
      '/api/policies',
      {
        config: { permission: 'policy.read' },
        schema: { tags, summary: 'Device policies', response: { 200: listOf(Policy), ...errorResponses } },
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
          tags,
          summary: 'Create a device policy',
          body: PolicyInput,
          response: { 201: Policy, ...errorResponses },
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
          tags,
          summary: 'One device policy',
          params: IdParams,
          response: { 200: Policy, ...errorResponses },
        },
      },
      async (req) => policies.get((req.params as IdParams).id),
    );

    app.put(
      '/api/policies/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          tags,
          summary: 'Replace a device policy (devices already issued keep what they were issued with)',
          params: IdParams,
          body: PolicyInput,
          response: { 200: Policy, ...errorResponses },
        },
      },
      async (req) => policies.update(actorOf(req), (req.params as IdParams).id, req.body as PolicyInput),
    );
  };
