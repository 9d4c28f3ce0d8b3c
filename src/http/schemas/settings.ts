// The security settings (GET and PUT /api/settings).
import { Type, type Static } from '@sinclair/typebox';
import {
  INITIAL_PASSWORD_MAX_ATTEMPTS,
  INITIAL_PASSWORD_VALIDITY_HOURS,
  INITIAL_PIN_DISPLAY_MODES,
  PORTAL_AUTH_METHODS,
  SECURITY_QUESTION_COUNT,
} from '../../domain/security-settings.js';
import { literalUnion } from '../schemas.js';

export const Settings = Type.Object(
  {
    initialPinDisplayMode: literalUnion(INITIAL_PIN_DISPLAY_MODES),
    changePinDuringIssuance: Type.Boolean(),
    issuanceRetryForUser: Type.Boolean(),
    portalAuthMethods: Type.Array(literalUnion(PORTAL_AUTH_METHODS), {
      minItems: 1,
      maxItems: PORTAL_AUTH_METHODS.length,
      uniqueItems: true,
    }),
    securityQuestionCount: Type.Integer({
      minimum: SECURITY_QUESTION_COUNT.min,
      maximum: SECURITY_QUESTION_COUNT.max,
    }),
    initialPasswordValidityHours: Type.Integer({
      minimum: INITIAL_PASSWORD_VALIDITY_HOURS.min,
      maximum: INITIAL_PASSWORD_VALIDITY_HOURS.max,
      description: 'How long an initial password stays valid once issued (hours)',
    }),
    initialPasswordMaxAttempts: Type.Integer({
      minimum: INITIAL_PASSWORD_MAX_ATTEMPTS.min,
      maximum: INITIAL_PASSWORD_MAX_ATTEMPTS.max,
      description: 'Wrong tries that burn an initial password',
    }),
  },
  { additionalProperties: false },
);
export type Settings = Static<typeof Settings>;
