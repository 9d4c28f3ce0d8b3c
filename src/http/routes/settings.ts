import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { SecuritySettings } from '../../services/settings-service.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { Settings } from '../schemas/settings.js';

export const settingsRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/settings',
      {
        config: { permission: 'settings.read' },
        schema: {
          ...op('getSettings', 'settings', 'Security settings'),
          response: { 200: ok(Settings, 'The security settings'), ...errorResponses },
        },
      },
      async () => rt.services.settings.getSecurity(),
    );
    app.put(
      '/api/settings',
      {
        config: { permission: 'settings.write' },
        schema: {
          ...op('replaceSettings', 'settings', 'Change the security settings'),
          body: Settings,
          response: { 200: ok(Settings, 'The security settings as saved'), ...errorResponses },
        },
      },
      async (req) => rt.services.settings.putSecurity(actorOf(req), req.body as SecuritySettings),
    );
  };
