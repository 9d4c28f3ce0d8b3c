import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import {
  INITIAL_PASSWORD_MAX_ATTEMPTS,
  INITIAL_PASSWORD_VALIDITY_HOURS,
  PORTAL_AUTH_METHODS,
} from '../../domain/security-settings.js';
import type { SecuritySettings } from '../../services/settings-service.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses, literalUnion } from '../schemas.js';

const Settings = Type.Object(
  {
    initialPinDisplayMode: literalUnion(['displayed', 'disguised', 'not_displayed'] as const),
    changePinDuringIssuance: Type.Boolean(),
    issuanceRetryForUser: Type.Boolean(),
    portalAuthMethods: Type.Array(literalUnion(PORTAL_AUTH_METHODS), { minItems: 1, uniqueItems: true }),
    securityQuestionCount: Type.Integer({ minimum: 1, maximum: 10 }),
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

export const settingsRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const tags = ['settings'];
    app.get(
      '/api/settings',
      {
        config: { permission: 'settings.read' },
        schema: { tags, summary: 'Security settings', response: { 200: Settings, ...errorResponses } },
      },
      async () => rt.services.settings.getSecurity(),
    );
    app.put(
      '/api/settings',
      {
        config: { permission: 'settings.write' },
        schema: {
          tags,
          summary: 'Change the security settings',
          body: Settings,
          response: { 200: Settings, ...errorResponses },
        },
      },
      async (req) => rt.services.settings.putSecurity(actorOf(req), req.body as SecuritySettings),
    );
  };
