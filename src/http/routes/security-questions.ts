// The security question list an administrator keeps (reference 000). Reading it needs
// settings.read, changing it settings.write.
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { ReplaceSecurityQuestions, SecurityQuestionList } from '../schemas/security-questions.js';

export const securityQuestionRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const view = async () => ({
      items: (await rt.services.securityQuestions.list()).map(({ id, text, active }) => ({
        id,
        text,
        active,
      })),
    });
    app.get(
      '/api/security-questions',
      {
        config: { permission: 'settings.read' },
        schema: {
          ...op('listSecurityQuestions', 'settings', 'The security questions people choose from'),
          response: {
            200: ok(SecurityQuestionList, 'The security questions, active and inactive'),
            ...errorResponses,
          },
        },
      },
      view,
    );
    app.put(
      '/api/security-questions',
      {
        config: { permission: 'settings.write' },
        schema: {
          ...op(
            'replaceSecurityQuestions',
            'settings',
            'Replace the question list (entries with an id are edited, without one added; answered questions can be deactivated, not removed)',
          ),
          body: ReplaceSecurityQuestions,
          response: { 200: ok(SecurityQuestionList, 'The question list as saved'), ...errorResponses },
        },
      },
      async (req) => {
        await rt.services.securityQuestions.replace(
          actorOf(req),
          (req.body as ReplaceSecurityQuestions).items,
        );
        return view();
      },
    );
  };
