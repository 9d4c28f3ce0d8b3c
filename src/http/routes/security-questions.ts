// The security question list an administrator keeps (reference 000). Reading it needs
// settings.read, changing it settings.write.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { Uuid, errorResponses } from '../schemas.js';

const Question = Type.Object({ id: Uuid, text: Type.String(), active: Type.Boolean() });
const QuestionList = Type.Object({ items: Type.Array(Question) });
const ReplaceBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          id: Type.Optional(Uuid),
          text: Type.String({ minLength: 5, maxLength: 200 }),
          active: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

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
          response: { 200: QuestionList, ...errorResponses },
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
          body: ReplaceBody,
          response: { 200: QuestionList, ...errorResponses },
        },
      },
      async (req) => {
        await rt.services.securityQuestions.replace(
          actorOf(req),
          (req.body as Static<typeof ReplaceBody>).items,
        );
        return view();
      },
    );
  };
