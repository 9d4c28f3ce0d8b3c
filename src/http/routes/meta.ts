import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../config/version.js';
import type { Runtime } from '../../runtime.js';
import { errorBody } from '../errors.js';
import { Meta } from '../schemas/meta.js';

export const metaRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
      if (await rt.services.health.ready()) return { status: 'ready' };
      return reply.status(503).send(errorBody('not_ready', 'The database is unreachable', String(req.id)));
    });

    app.get(
      '/api/meta',
      {
        config: { public: true },
        schema: {
          tags: ['meta'],
          summary: 'Version and deployment facts the web app needs before sign-in',
          response: { 200: Meta },
        },
      },
      async () => {
        return {
          version: VERSION,
          demo: await rt.services.bootstrap.demoSeeded(),
          externalUrl: rt.config.externalUrl,
          mail: rt.mailer !== null,
        };
      },
    );

    app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
      app.swagger(),
    );
  };
