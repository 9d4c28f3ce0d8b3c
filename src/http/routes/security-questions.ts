// The security question list an administrator keeps (reference 000). Reading it needs
// settings.read, changing it settings.write.
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses } from '../schemas.js';
import { ReplaceSecurityQuestions, SecurityQuestionList } from '../schemas/security-questions.js';

export const securityQuestionRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const tags = ['settings'];
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
          tags,
          summary: 'The security questions people choose from',
          response: { 200: SecurityQuestionList, ...errorResponses },
        },
      },
      view,
    );
    app.put(
      '/api/security-questions',
      {
        config: { permission: 'settings.write' },
        schema: {
          tags,
          summary:
            'Replace the question list (entries with an id are edited, without one added; answered questions can be deactivated, not removed)',
          body: ReplaceSecurityQuestions,
          response: { 200: SecurityQuestionList, ...errorResponses },
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
