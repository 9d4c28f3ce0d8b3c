// Signing in: who is signed in, with their permissions and the session's CSRF token.
import { Type, type Static } from '@sinclair/typebox';
import { Role } from '../schemas.js';

export const Me = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(Role),
  permissions: Type.Array(Type.String()),
});
export type Me = Static<typeof Me>;

/** The answer of POST /api/auth/login and GET /api/auth/session. */
export const SessionInfo = Type.Object({ user: Me, csrfToken: Type.String() });
export type SessionInfo = Static<typeof SessionInfo>;

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;
