// The mail outbox as an administrator sees it (GET /api/mail, GET /api/mail/{id}, POST
// /api/mail/{id}/resend): recipient, subject, state and the mail server's last answer — never the
// content, which may carry a password.
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid, literalUnion } from '../schemas.js';

const MAIL_STATUSES = ['queued', 'sending', 'sent', 'failed'] as const;
export const MailStatus = literalUnion(MAIL_STATUSES, {
  description:
    'queued: waiting (maybe after failed attempts); sending: a server is sending it now; sent: the mail server took it; failed: refused for good, out of attempts, or outcome unknown',
});

export const MailQuery = Type.Object(
  {
    status: Type.Optional(MailStatus),
    userId: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
  },
  { additionalProperties: false },
);
export type MailQuery = Static<typeof MailQuery>;

export const Mail = Type.Object({
  id: Uuid,
  kind: Type.String({ description: 'initial_password, mobile_id_link, mobile_id_result, wallet_link' }),
  recipient: Type.String(),
  subject: Type.String(),
  userId: Type.Union([Uuid, Type.Null()]),
  status: MailStatus,
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  createdAt: Timestamp,
  nextAttemptAt: Timestamp,
  sentAt: Type.Union([Timestamp, Type.Null()]),
  failedAt: Type.Union([Timestamp, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()], {
    description: "The mail server's answer (or why it could not be reached) at the last failed attempt",
  }),
});
export type Mail = Static<typeof Mail>;

export const MailList = Type.Object({
  items: Type.Array(Mail),
  total: Type.Integer(),
  counts: Type.Object({
    queued: Type.Integer(),
    sending: Type.Integer(),
    sent: Type.Integer(),
    failed: Type.Integer(),
  }),
  /** Whether a mail server is configured (TESSERA_SMTP_URL); without one, messages only wait. */
  configured: Type.Boolean(),
});
export type MailList = Static<typeof MailList>;
