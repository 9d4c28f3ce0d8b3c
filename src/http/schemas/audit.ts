// The audit log: the search, an event, and the result of checking the hash chain.
import { Type, type Static } from '@sinclair/typebox';
import { Paging, Timestamp, Uuid } from '../schemas.js';

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
});
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditVerification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  brokenAt: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});
export type AuditVerification = Static<typeof AuditVerification>;
