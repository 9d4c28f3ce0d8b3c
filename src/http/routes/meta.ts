import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../config/version.js';
import type { Runtime } from '../../runtime.js';
import { errorBody } from '../errors.js';
import { ok, op } from '../openapi.js';
import { ErrorResponse, errorResponses } from '../schemas.js';
import { Health, Instances, Meta, Readiness } from '../schemas/meta.js';

export const metaRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: {
          ...op('getHealth', 'meta', 'Liveness: the process answers'),
          response: { 200: ok(Health, 'The process is up') },
        },
      },
      async () => ({ status: 'ok' }),
    );

    app.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          ...op('getReadiness', 'meta', 'Readiness: the process and its database answer'),
          response: { 200: ok(Readiness, 'Ready to serve: the database answers'), 503: ErrorResponse },
        },
      },
      async (req, reply) => {
        if (await rt.services.health.ready()) return { status: 'ready' };
        return reply.status(503).send(errorBody('not_ready', 'The database is unreachable', String(req.id)));
      },
    );

    // Not /healthz, which stays a constant answer (the HTTP ceiling `npm run bench -- ocsp` measures).
    app.get(
      '/api/health/instances',
      {
        config: { permission: 'settings.read' },
        schema: {
          ...op(
            'listServerInstances',
            'meta',
            'The servers sharing this database: which one answered, how many are alive (docs/operations.md)',
          ),
          response: {
            200: ok(Instances, 'This server, the number alive, and each instance with its lease'),
            ...errorResponses,
          },
        },
      },
      async () => rt.services.health.instances(),
    );

    app.get(
      '/api/meta',
      {
        config: { public: true },
        schema: {
          ...op('getMeta', 'meta', 'Version and deployment facts the web app needs before sign-in'),
          response: {
            200: ok(
              Meta,
              'The server’s version, whether demo data is seeded, its external URL and whether it sends mail',
            ),
          },
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

    // The document itself is not one of its operations (a client generated from it has no use for it).
    app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
      app.swagger(),
    );
  };
