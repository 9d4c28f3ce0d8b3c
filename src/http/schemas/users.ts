// People: the search, the bodies that create and edit a person, and a lifecycle change's reason.
import { Type, type Static } from '@sinclair/typebox';
import { USER_STATES, type UserAction } from '../../domain/user.js';
import { Device, Paging, Properties, Role, literalUnion } from '../schemas.js';

export const UserSearch = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(literalUnion(USER_STATES)),
    role: Type.Optional(Role),
    ...Paging,
  },
  { additionalProperties: false },
);
export type UserSearch = Static<typeof UserSearch>;

const Email = Type.String({ format: 'email', maxLength: 254 });
const DisplayName = Type.String({ minLength: 1, maxLength: 128 });

/** The body of POST /api/users. */
export const NewUser = Type.Object(
  {
    username: Type.String({ minLength: 2, maxLength: 64 }),
    displayName: DisplayName,
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    roles: Type.Optional(Type.Array(Role, { maxItems: 5, uniqueItems: true })),
    properties: Type.Optional(Properties),
  },
  { additionalProperties: false },
);
export type NewUser = Static<typeof NewUser>;

/** The body of PATCH /api/users/:id: what is given changes; a null e-mail removes the address. */
export const UserPatch = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 5, uniqueItems: true })),
    properties: Type.Optional(Properties),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatch = Static<typeof UserPatch>;

/** The body of POST /api/users/:id/{suspend,reactivate,terminate}. */
export const ReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type ReasonBody = Static<typeof ReasonBody>;

/** The last segment of POST /api/users/:id/{action}. */
export type UserLifecycleAction = UserAction;

/** GET /api/users/:id/devices. */
export const UserDevices = Type.Object({ items: Type.Array(Device) });
export type UserDevices = Static<typeof UserDevices>;
