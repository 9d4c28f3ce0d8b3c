// Initial passwords for the user portal: an operator issues one for a person; it is returned once
// (or e-mailed when mail is configured and the person has an address). Permission
// initial_password.issue.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { IssueInitialPassword, IssuedInitialPassword } from '../schemas/initial-passwords.js';

export const initialPasswordRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/api/users/:id/initial-password',
      {
        config: { permission: 'initial_password.issue' },
        schema: {
          ...op(
            'issueInitialPassword',
            'users',
            'Issue a one-time initial password for the user portal (supersedes any previous one)',
          ),
          params: IdParams,
          body: Type.Optional(IssueInitialPassword),
          response: {
            201: ok(
              IssuedInitialPassword,
              'The one-time password, issued (shown once), and whether it was e-mailed',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as IssueInitialPassword;
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
