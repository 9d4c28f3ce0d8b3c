// The mail outbox for administrators: what was queued, sent or failed, with the mail server's
// answer, and sending a failed message again (mail.read, mail.resend).
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { ok, op } from '../openapi.js';
import { IdParams, errorResponses } from '../schemas.js';
import { Mail, MailList, MailQuery } from '../schemas/mail.js';

export const mailRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const outbox = rt.services.mailOutbox;
    app.get(
      '/api/mail',
      {
        config: { permission: 'mail.read' },
        schema: {
          ...op('listMail', 'mail', 'The mail outbox, newest first, with the count per state'),
          querystring: MailQuery,
          response: { 200: ok(MailList, 'A page of messages (never their content)'), ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as MailQuery;
        return { ...(await outbox.list(q)), configured: outbox.configured };
      },
    );

    app.get(
      '/api/mail/:id',
      {
        config: { permission: 'mail.read' },
        schema: {
          ...op('getMail', 'mail', 'One message of the outbox: its state and the last answer'),
          params: IdParams,
          response: { 200: ok(Mail, 'The message (never its content)'), ...errorResponses },
        },
      },
      async (req) => outbox.get((req.params as IdParams).id),
    );

    app.post(
      '/api/mail/:id/resend',
      {
        config: { permission: 'mail.resend' },
        schema: {
          ...op(
            'resendMail',
            'mail',
            'Queue a failed message again (audited as mail.resent); it may arrive twice if its outcome was unknown',
          ),
          params: IdParams,
          response: { 200: ok(Mail, 'The message, queued again'), ...errorResponses },
        },
      },
      async (req) => outbox.resend(actorOf(req), (req.params as IdParams).id),
    );
  };
