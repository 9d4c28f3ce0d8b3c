// Initial passwords for the user portal: an operator issues one for a person; it is returned once
// (or e-mailed when a mailer is plugged in). Permission initial_password.issue.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, literalUnion } from '../schemas.js';

const Issued = Type.Object({
  password: Type.Optional(Type.String()),
  expiresAt: Type.String({ format: 'date-time' }),
  delivery: literalUnion(['displayed', 'email'] as const),
});

export const initialPasswordRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/api/users/:id/initial-password',
      {
        config: { permission: 'initial_password.issue' },
        schema: {
          tags: ['users'],
          summary: 'Issue a one-time initial password for the user portal (supersedes any previous one)',
          params: IdParams,
          body: Type.Optional(Type.Object({}, { additionalProperties: false })),
          response: { 201: Issued, ...errorResponses },
        },
      },
      async (req, reply) => {
        const issued = await rt.services.initialPasswords.issue(actorOf(req), (req.params as IdParams).id);
        // The password is shown once: no cache may keep it.
        reply.header('cache-control', 'no-store');
        return reply.status(201).send(issued);
      },
    );
  };
