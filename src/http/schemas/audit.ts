// The audit log: the search, an event, and the result of checking the hash chain.
import { Type, type Static } from '@sinclair/typebox';
import { AUDIT_REF_TYPES } from '../../domain/audit-refs.js';
import { Paging, Timestamp, Uuid, literalUnion } from '../schemas.js';

export const AuditSearch = Type.Object(
  {
    targetType: Type.Optional(Type.String({ maxLength: 64 })),
    targetId: Type.Optional(Type.String({ maxLength: 128 })),
    actorId: Type.Optional(Uuid),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    ...Paging,
  },
  { additionalProperties: false },
);
export type AuditSearch = Static<typeof AuditSearch>;

export const AuditEvent = Type.Object({
  seq: Type.Integer(),
  at: Timestamp,
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorName: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  correlationId: Type.Union([Type.String(), Type.Null()]),
  refs: Type.Array(
    Type.Object({
      type: literalUnion(AUDIT_REF_TYPES),
      id: Type.String(),
      name: Type.String({ description: 'A person’s display name, a device’s serial, a request’s #number…' }),
      detail: Type.Union([Type.String(), Type.Null()], {
        description: 'A person’s username, a device’s type, a certificate’s profile, a request’s reason',
      }),
    }),
    {
      description:
        'What the event refers to, by name: its actor, its target and the ids in its details (userId, ' +
        'deviceId, fromAgentId…) that name something still there; resolved for the whole page at once',
    },
  ),
});
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditVerification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  brokenAt: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});
export type AuditVerification = Static<typeof AuditVerification>;
