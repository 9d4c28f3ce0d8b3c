// Sign-in delays in force (GET /api/sign-in-throttles) and lifting one (POST
// /api/sign-in-throttles/lift), decision 0022.
import { Type, type Static } from '@sinclair/typebox';
import { THROTTLED_SECRETS, THROTTLE_SCOPES } from '../../domain/sign-in-throttle.js';
import { Timestamp, literalUnion } from '../schemas.js';

const Secret = literalUnion(THROTTLED_SECRETS);
const Scope = literalUnion(THROTTLE_SCOPES);
// A name (128) and an address joined by a space.
const Subject = Type.String({ minLength: 1, maxLength: 300 });

export const SignInDelayQuery = Type.Object(
  { username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) },
  { additionalProperties: false },
);
export type SignInDelayQuery = Static<typeof SignInDelayQuery>;

export const SignInDelay = Type.Object({
  secret: Secret,
  scope: Scope,
  subject: Subject,
  name: Type.Union([Type.String(), Type.Null()]),
  address: Type.Union([Type.String(), Type.Null()]),
  failures: Type.Integer(),
  lastFailureAt: Type.Union([Timestamp, Type.Null()]),
  /** Attempts before this time are refused unseen. */
  until: Timestamp,
});
export type SignInDelay = Static<typeof SignInDelay>;

export const SignInDelayList = Type.Object({ items: Type.Array(SignInDelay) });
export type SignInDelayList = Static<typeof SignInDelayList>;

export const LiftSignInDelay = Type.Object(
  { secret: Secret, scope: Scope, subject: Subject },
  { additionalProperties: false },
);
export type LiftSignInDelay = Static<typeof LiftSignInDelay>;
