// Shared JSON schemas (TypeBox) for the API: every route validates its input against these, and
// responses are serialized through them, so no field that is not declared (a password hash, a
// PUK) can leave the server by accident. The schemas of each area are in schemas/; like this file
// they import only TypeBox and the domain, because the web app takes its types from them
// (`import type`, see docs/decisions/0015-shared-facts.md).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DEVICE_STATES, DEVICE_TYPES } from '../domain/device.js';
import { ROLES } from '../domain/permissions.js';
import { USER_SOURCES, USER_STATES } from '../domain/user.js';

export const literalUnion = <T extends string>(values: readonly T[], opts: Record<string, unknown> = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    opts,
  );

export const Uuid = Type.String({ format: 'uuid', maxLength: 36, description: 'An identifier (UUID)' });

/**
 * Text of several lines (notes, PEM, CSV): besides what every string allows, it may hold tab, line
 * feed and carriage return; other control characters are refused as everywhere (validation.ts).
 */
export const MultilineText = (opts: { minLength?: number; maxLength: number; description?: string }) =>
  Type.String({ ...opts, 'x-multiline': true });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/**
 * Paging of a search: optional for the caller; validation fills in the defaults, so a route's
 * handler always sees both (see `Paged`).
 */
export const Paging = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'How many items (default 50)' }),
  ),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'How many to skip (default 0)' }),
  ),
};
/** A search as its handler sees it: validation has filled in the paging defaults. */
export type Paged<T extends { limit?: number; offset?: number }> = T & { limit: number; offset: number };

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    correlationId: Type.String(),
  }),
});
export type ErrorResponse = Static<typeof ErrorResponse>;

export const Role = literalUnion(ROLES);
export const Properties = Type.Record(
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_.-]*$' }),
  Type.String({ maxLength: 1024 }),
  {
    maxProperties: 50,
  },
);

export const User = Type.Object({
  id: Uuid,
  username: Type.String(),
  displayName: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  source: literalUnion(USER_SOURCES),
  state: literalUnion(USER_STATES),
  roles: Type.Array(Role),
  properties: Type.Record(Type.String(), Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type User = Static<typeof User>;

export const Device = Type.Object({
  id: Uuid,
  serial: Type.String(),
  type: literalUnion(DEVICE_TYPES),
  model: Type.String(),
  state: literalUnion(DEVICE_STATES),
  userId: Type.Union([Uuid, Type.Null()]),
  policyId: Type.Union([Uuid, Type.Null()]),
  notes: Type.String(),
  issuedAt: NullableTimestamp,
  expiresAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Device = Static<typeof Device>;

/** A page of a search: `limit` items from `offset`, and how many match in all. */
export const listOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer() });
/** What a listOf(item) route sends, for the item's type. */
export type Page<T> = Omit<Static<ReturnType<typeof listOf>>, 'items'> & { items: T[] };

/** Standard error responses to document on every route. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
};
