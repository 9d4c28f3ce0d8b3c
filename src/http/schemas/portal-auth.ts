// The user portal's sign-in and the signed-in person's own view (/api/portal/auth/*, /me,
// /security-questions).
import { Type, type Static } from '@sinclair/typebox';
import { PORTAL_AUTH_METHODS } from '../../domain/security-settings.js';
import { Device, User, Uuid, literalUnion } from '../schemas.js';
import { Me } from './auth.js';

const Username = Type.String({ minLength: 1, maxLength: 128 });
const Password = Type.String({ minLength: 1, maxLength: 256 });

/** One security answer, to the question it answers. */
export const Answer = Type.Object(
  { questionId: Uuid, answer: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type Answer = Static<typeof Answer>;
const Answers = Type.Array(Answer, { minItems: 1, maxItems: 10 });

/** A question as a person sees it (never with its answer). */
export const Question = Type.Object({ id: Uuid, text: Type.String() });
export type Question = Static<typeof Question>;

export const StartBody = Type.Object({ username: Username }, { additionalProperties: false });
export type StartBody = Static<typeof StartBody>;

/** POST /api/portal/auth/start: the ways of signing in on offer (the same for every name). */
export const SignInOptions = Type.Object({
  methods: Type.Array(literalUnion(PORTAL_AUTH_METHODS)),
  /** With security_questions: the person's own questions, or a stable choice for anyone without answers. */
  questions: Type.Optional(Type.Array(Question)),
});
export type SignInOptions = Static<typeof SignInOptions>;

export const PasswordBody = Type.Object(
  { username: Username, password: Password },
  { additionalProperties: false },
);
export type PasswordBody = Static<typeof PasswordBody>;

export const AnswersSignInBody = Type.Object(
  { username: Username, answers: Answers },
  { additionalProperties: false },
);
export type AnswersSignInBody = Static<typeof AnswersSignInBody>;

export const SetAnswersBody = Type.Object({ answers: Answers }, { additionalProperties: false });
export type SetAnswersBody = Static<typeof SetAnswersBody>;

export const PortalSignedIn = Type.Object({
  user: Me,
  csrfToken: Type.String(),
  mustSetQuestions: Type.Boolean(),
});
export type PortalSignedIn = Static<typeof PortalSignedIn>;

export const QuestionStatus = Type.Object({
  required: Type.Integer(),
  answered: Type.Array(Question),
  available: Type.Array(Question),
  mustSet: Type.Boolean(),
});
export type QuestionStatus = Static<typeof QuestionStatus>;

export const PortalMe = Type.Object({
  user: User,
  devices: Type.Array(Device),
  securityQuestions: Type.Object({
    required: Type.Integer(),
    answered: Type.Integer(),
    mustSet: Type.Boolean(),
  }),
  /** Whether a failed self-issuance may be retried from the portal (the operator's setting). */
  issuanceRetryForUser: Type.Boolean(),
});
export type PortalMe = Static<typeof PortalMe>;
