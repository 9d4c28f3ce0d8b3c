// The security question list an administrator keeps (GET and PUT /api/security-questions).
import { Type, type Static } from '@sinclair/typebox';
import { Uuid } from '../schemas.js';

export const SecurityQuestion = Type.Object({ id: Uuid, text: Type.String(), active: Type.Boolean() });
export type SecurityQuestion = Static<typeof SecurityQuestion>;

export const SecurityQuestionList = Type.Object({ items: Type.Array(SecurityQuestion) });
export type SecurityQuestionList = Static<typeof SecurityQuestionList>;

/** One entry of PUT /api/security-questions: without an id it is added. */
export const SecurityQuestionInput = Type.Object(
  {
    id: Type.Optional(Uuid),
    text: Type.String({ minLength: 5, maxLength: 200 }),
    active: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type SecurityQuestionInput = Static<typeof SecurityQuestionInput>;

export const ReplaceSecurityQuestions = Type.Object(
  { items: Type.Array(SecurityQuestionInput, { maxItems: 100 }) },
  { additionalProperties: false },
);
export type ReplaceSecurityQuestions = Static<typeof ReplaceSecurityQuestions>;
