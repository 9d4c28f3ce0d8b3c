// How much work one request may ask for before anything looks at it. Bodies are capped per route
// (Fastify refuses a larger Content-Length with 413 before reading it): small for everything, and
// smaller still where no session is needed, since anyone can send those. The few routes that take
// files (CSV import, CA import, the directory's CA certificates) raise their own limit. Public
// routes also validate with the first-error validator.
import type { FastifyInstance } from 'fastify';
import { publicValidatorCompiler } from './validation.js';

const KiB = 1024;
/** Any route behind a session: the largest form (a policy, the security questions) is far below. */
export const DEFAULT_BODY_LIMIT = 64 * KiB;
/** Sign-in and pairing: a username, a password or ten answers. */
export const PUBLIC_BODY_LIMIT = 8 * KiB;

/** Registers the per-route defaults; call before any route is added. */
export function applyRequestLimits(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!(route.config as { public?: boolean } | undefined)?.public) return;
    route.bodyLimit ??= PUBLIC_BODY_LIMIT;
    route.validatorCompiler ??= publicValidatorCompiler;
  });
}
