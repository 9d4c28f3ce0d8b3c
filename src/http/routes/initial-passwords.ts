// Initial passwords for the user portal: an operator issues one for a person; it is returned once
// (or e-mailed when mail is configured and the person has an address). Permission
// initial_password.issue.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, literalUnion } from '../schemas.js';

const Issued = Type.Object({
  password: Type.Optional(Type.String({ description: 'Present only when shown to the operator' })),
  email: Type.Optional(Type.String({ description: 'The address it was sent to, when e-mailed' })),
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
          body: Type.Optional(
            Type.Object(
              {
                delivery: Type.Optional(
                  literalUnion(['auto', 'email', 'displayed'] as const, {
                    description:
                      'auto (default): e-mailed when mail is configured and the person has an address, else shown; displayed: shown to the operator; email: e-mailed or refused',
                  }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          response: { 201: Issued, ...errorResponses },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as { delivery?: 'auto' | 'email' | 'displayed' };
        const issued = await rt.services.initialPasswords.issue(
          actorOf(req),
          (req.params as IdParams).id,
          body.delivery ?? 'auto',
        );
        // The password is shown once: no cache may keep it.
        reply.header('cache-control', 'no-store');
        return reply.status(201).send(issued);
      },
    );
  };
