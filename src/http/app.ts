// Builds the Fastify application: sessions and the RBAC guard, one error shape, the OpenAPI
// document, the route families, and the built web app with its client-side routes.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { VERSION } from '../config/version.js';
import type { Runtime } from '../runtime.js';
import { registerAuthGuard } from './auth-guard.js';
import { errorBody, handleError } from './errors.js';
import { swaggerOptions } from './openapi.js';
import { DEFAULT_BODY_LIMIT, applyRequestLimits } from './request-limits.js';
import { API_CACHE_CONTROL, SECURITY_HEADERS, hstsFor } from './security-headers.js';
import { validatorCompiler } from './validation.js';
import { agentRoutes } from './routes/agents.js';
import { walletRoutes } from './routes/wallet.js';
import { walletRelayRoutes } from './routes/wallet-relay.js';
import { auditRoutes } from './routes/audit.js';
import { authRoutes } from './routes/auth.js';
import { conformanceRoutes } from './routes/conformance.js';
import { deviceRoutes } from './routes/devices.js';
import { downloadRoutes } from './routes/downloads.js';
import { issuanceRoutes } from './routes/issuance.js';
import { portalDemoRoutes } from './routes/portal-demo.js';
import { portalIssuanceRoutes } from './routes/portal-issuance.js';
import { caRoutes } from './routes/cas.js';
import { certificateRoutes } from './routes/certificates.js';
import { pkiRoutes } from './routes/pki.js';
import { directoryRoutes } from './routes/directory.js';
import { initialPasswordRoutes } from './routes/initial-passwords.js';
import { mailRoutes } from './routes/mail.js';
import { mobileIdPolicyRoutes } from './routes/mobile-id-policies.js';
import { mobileIdRoutes } from './routes/mobile-ids.js';
import { metaRoutes } from './routes/meta.js';
import { layoutRoutes } from './routes/layouts.js';
import { policyRoutes } from './routes/policies.js';
import { requestRoutes } from './routes/requests.js';
import { portalAuthRoutes } from './routes/portal-auth.js';
import { signInThrottleRoutes } from './routes/sign-in-throttles.js';
import { securityQuestionRoutes } from './routes/security-questions.js';
import { settingsRoutes } from './routes/settings.js';
import { userRoutes } from './routes/users.js';

/** Paths of the browser app: unknown paths under these get index.html (client-side routing). */
const APP_PREFIXES = ['/operator', '/portal', '/login', '/wallet'];

/** Where the built web app lives: dist/web next to the built server, or the repo's dist/web in dev. */
export function findWebRoot(): string | null {
  for (const rel of ['../web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

/** Headers and body fields whose values must never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.pin',
  '*.puk',
  '*.newPin',
  '*.confirmation', // the new PIN again (portal and operator PIN change)
  '*.pinConfirmation',
  '*.bindPassword', // the directory's service account
  '*.answer',
  '*.answers',
  '*.answers[*].answer',
  '*.token', // an agent's bearer token (pairing reply)
  '*.csrfToken',
  '*.privateKey',
  '*.privateKeyPem',
  '*.managementKey',
];

/** The server's logger: secret-bearing fields replaced wherever they appear one level down. */
export const loggerOptions = (level: string) => ({
  level,
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
});

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /**
   * Serve the web app's source maps (`tessera start`, for debugging the demo). `tessera serve`
   * does not: they hand anyone the app's whole source, comments included.
   */
  sourceMaps?: boolean;
}

export async function buildApp(rt: Runtime, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Only the proxies named in TESSERA_TRUST_PROXY may say who the client is (req.ip).
    ...(rt.config.trustProxy ? { trustProxy: rt.config.trustProxy } : {}),
  });
  app.setValidatorCompiler(validatorCompiler);
  applyRequestLimits(app);

  app.setErrorHandler((err, req, reply) => handleError(err, req, reply));
  const hsts = hstsFor(rt.config.externalUrl);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-correlation-id', req.id);
    // A plugin's own policy (the OpenAPI viewer's CSP) is kept; everything else gets ours.
    for (const [name, value] of Object.entries(SECURITY_HEADERS))
      if (!reply.hasHeader(name)) reply.header(name, value);
    if (hsts) reply.header('strict-transport-security', hsts);
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control'))
      reply.header('cache-control', API_CACHE_CONTROL);
  });

  await app.register(cookie);
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  registerAuthGuard(app, rt);
  await app.register(swagger, swaggerOptions(rt.config.externalUrl, VERSION));
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });

  await app.register(metaRoutes(rt));
  await app.register(authRoutes(rt));
  await app.register(userRoutes(rt));
  await app.register(deviceRoutes(rt));
  await app.register(conformanceRoutes(rt));
  await app.register(policyRoutes(rt));
  await app.register(layoutRoutes(rt));
  await app.register(requestRoutes(rt));
  await app.register(settingsRoutes(rt));
  await app.register(auditRoutes(rt));
  await app.register(issuanceRoutes(rt));
  await app.register(portalIssuanceRoutes(rt));
  await app.register(portalDemoRoutes(rt));
  await app.register(certificateRoutes(rt.services.pki));
  await app.register(caRoutes(rt.services.pki));
  await app.register(pkiRoutes(rt.services.pki));
  await app.register(directoryRoutes(rt));
  await app.register(initialPasswordRoutes(rt));
  await app.register(mailRoutes(rt));
  await app.register(mobileIdPolicyRoutes(rt));
  await app.register(mobileIdRoutes(rt));
  await app.register(securityQuestionRoutes(rt));
  await app.register(portalAuthRoutes(rt));
  await app.register(signInThrottleRoutes(rt));
  await app.register(agentRoutes(rt));
  await app.register(walletRoutes(rt));
  await app.register(walletRelayRoutes(rt));
  await app.register(downloadRoutes(rt));

  const webRoot = findWebRoot();
  if (webRoot)
    await app.register(fastifyStatic, {
      root: webRoot,
      wildcard: false,
      index: ['index.html'],
      ...(opts.sourceMaps ? {} : { allowedPath: (path: string) => !path.endsWith('.map') }),
    });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const isApp = path === '/' || APP_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
    if (req.method === 'GET' && isApp) {
      if (path === '/') return reply.redirect('/operator');
      // The phone's wallet is its own page (its own small bundle, manifest and service worker).
      const page = path === '/wallet' || path.startsWith('/wallet/') ? 'wallet.html' : 'index.html';
      if (webRoot) return reply.type('text/html').sendFile(page);
      return reply
        .status(503)
        .type('text/plain')
        .send('The web app is not built: run `npm run build`, then restart Tessera.');
    }
    return reply
      .status(404)
      .send(
        errorBody('not_found', `No route ${req.method} ${path}: see /api/docs for the API`, String(req.id)),
      );
  });

  return app;
}
