// Initial passwords for the user portal (POST /api/users/:id/initial-password).
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from '../schemas.js';

export const IssueInitialPassword = Type.Object(
  {
    delivery: Type.Optional(
      literalUnion(['auto', 'email', 'displayed'] as const, {
        description:
          'auto (default): e-mailed when mail is configured and the person has an address, else shown; displayed: shown to the operator; email: e-mailed or refused',
      }),
    ),
  },
  { additionalProperties: false },
);
export type IssueInitialPassword = Static<typeof IssueInitialPassword>;

export const IssuedInitialPassword = Type.Object({
  password: Type.Optional(Type.String({ description: 'Present only when shown to the operator' })),
  email: Type.Optional(Type.String({ description: 'The address it was sent to, when e-mailed' })),
  mailId: Type.Optional(
    Type.String({
      format: 'uuid',
      description: 'When e-mailed: the message queued in the mail outbox (GET /api/mail/{id})',
    }),
  ),
  expiresAt: Type.String({ format: 'date-time' }),
  delivery: literalUnion(['displayed', 'email'] as const),
});
export type IssuedInitialPassword = Static<typeof IssuedInitialPassword>;
