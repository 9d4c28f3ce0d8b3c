// The OpenAPI document's conventions in one place, so a generated client can trust it:
// - every route states its operationId (verbNoun), one tag and a summary in one line, `op(...)`;
// - every reply says what happened: `ok(schema, '…')` for JSON, `file`/`text`/`events` for other
//   content types, `noContent('…')`; the error body is one shared component, each error status
//   worded once here;
// - security is not written by hand: it follows from the route's own access declaration (the one
//   the guard enforces: config.public, a permission, CSRF on unsafe methods), so the document
//   cannot disagree with what the server does.
// test/http/openapi-contract.test.ts fails when a route lacks any of this, and lints the result.
import type { FastifyDynamicSwaggerOptions, SwaggerTransform } from '@fastify/swagger';
import type { TSchema } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { UNSAFE_METHODS } from './auth-guard.js';

/** The tags, each with what its operations are about (the document lists them in this order). */
export const TAGS = {
  meta: 'Version, health and the facts the web app needs before sign-in (public)',
  auth: 'Operator sign-in, sign-out and the session',
  users: 'People: search, create, edit, lifecycle, initial passwords',
  devices: 'The device inventory: blank cards and tokens, registered one by one or from CSV',
  'device policies': 'What a device gets when issued: credentials, PIN and PUK rules',
  settings: 'Security settings and the security questions',
  audit: 'The tamper-evident audit log',
  issuance: 'Operator issuance: personalize or bind a card in a reader, follow the job',
  'user portal': 'Self-service issuance in the user portal',
  portal: 'User-portal sign-in and the signed-in person',
  certificates: 'Issued certificates: search, download, suspend, revoke, key recovery',
  'certificate authorities': 'The CA hierarchy and importing an issuing CA',
  pki: 'What relying parties fetch without a session: CA certificates, CRLs, OCSP',
  directory: 'The LDAP directory: connection, test, synchronization',
  agents: 'Workstation agents: executables, pairing, readers',
  'card printing': 'Card layouts, their previews, people’s photos and the printing settings',
  'mobile id':
    'Mobile ID (reference 004): the administrator’s mobile ID policies, a person’s order in the user portal, the operator’s view',
  mail: 'The mail outbox: every e-mail Tessera sends, its state and the mail server’s answer',
  replacement:
    'Replacement requests (lost, stolen, damaged, expired, forgotten devices), their decisions, and device suspension',
} as const;
export type Tag = keyof typeof TAGS;

/** The one line every documented route starts its schema with. */
export const op = (operationId: string, tag: Tag, summary: string, description?: string) => ({
  operationId,
  tags: [tag],
  summary,
  ...(description === undefined ? {} : { description }),
});

/** @fastify/swagger's key for a response's description (kept out of the schema it describes). */
const RESPONSE_DESCRIPTION = 'x-response-description';

/** A JSON reply and what it means. */
export const ok = <T extends TSchema>(schema: T, description: string): T => ({
  ...schema,
  [RESPONSE_DESCRIPTION]: description,
});

/** A reply without a body. */
export const noContent = (description: string) => ({ type: 'null', description }) as const;

const binary = (description: string) => ({ schema: { type: 'string', format: 'binary', description } });

/** A non-JSON reply: each content type it may have, with what the body holds. */
export const file = (description: string, types: Record<string, string>) => ({
  description,
  content: Object.fromEntries(Object.entries(types).map(([type, what]) => [type, binary(what)])),
});

/** A text reply (PEM, a checksum line). */
export const text = (description: string, type = 'text/plain') => ({
  description,
  content: { [type]: { schema: { type: 'string' } } },
});

/** A stream of server-sent events. */
export const events = (description: string) => text(description, 'text/event-stream');

/** What each error status means on any route (the body is always the shared Error schema). */
export const ERROR_DESCRIPTIONS: Record<string, string> = {
  '400': 'Refused: a field is missing, unknown or invalid (error.details.issues names each)',
  '401': 'Not signed in, or the session has ended: sign in again',
  '403':
    'Signed in, but the session may not do this (role, session kind) or the x-csrf-token header is missing or wrong',
  '404': 'Nothing with that identifier exists (or it is not visible to you)',
  '409': 'Refused by the current state: the change is not allowed now (error.message says why)',
  '413': 'The request body is larger than this route accepts',
  '423': 'Locked out after too many failed attempts: wait, then try again',
  '429': 'Too many attempts: wait, then try again',
  '502': 'A peer (card agent, directory, mail server) failed; error.message says which',
  '503': 'Not ready: the database is unreachable',
};

/** What the document says of a route that its Fastify schema cannot say. */
export interface OpenapiExtras {
  /**
   * How a wildcard route (`/pki/ocsp/*`) appears: OpenAPI has no wildcard, so the rest of the path
   * is a named parameter there.
   */
  wildcard?: { name: string; schema: TSchema };
  /** A request body the handler reads as bytes (not validated): content type → what it holds. */
  body?: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: OpenapiExtras;
  }
}

type Security = Record<string, string[]>[];

/** The security a route's access declaration means: none, the session, or the session and CSRF. */
export function securityFor(method: string, config: RouteOptions['config']): Security {
  const cfg = (config ?? {}) as { public?: boolean; noCsrf?: boolean };
  if (cfg.public) return [];
  if (UNSAFE_METHODS.has(method) && !cfg.noCsrf) return [{ session: [], csrf: [] }];
  return [{ session: [] }];
}

const transform: SwaggerTransform = ({ schema, url, route }) => {
  const method = [route.method].flat()[0] ?? 'GET';
  const out: Record<string, unknown> = { ...(schema ?? {}) };
  out.security ??= securityFor(method, route.config);
  const extras = (route.config as { openapi?: OpenapiExtras } | undefined)?.openapi ?? {};
  if (extras.body)
    out.body = {
      content: Object.fromEntries(Object.entries(extras.body).map(([type, what]) => [type, binary(what)])),
    };
  const { wildcard } = extras;
  if (wildcard && url.endsWith('*')) {
    out.params = {
      type: 'object',
      properties: { [wildcard.name]: wildcard.schema },
      required: [wildcard.name],
    };
    return { schema: out, url: `${url.slice(0, -1)}:${wildcard.name}` };
  }
  return { schema: out, url };
};

type Json = Record<string, unknown>;
const isErrorBody = (s: unknown): boolean => {
  const props = (s as Json | undefined)?.properties as Record<string, Json> | undefined;
  return (
    props !== undefined &&
    Object.keys(props).length === 1 &&
    (props.error?.properties as Json | undefined)?.correlationId !== undefined
  );
};

/** The error body once, as a component, and each error reply pointing at it with its wording. */
function shareErrorBody(doc: Json): Json {
  let errorSchema: unknown;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const ops of Object.values(paths))
    for (const operation of Object.values(ops))
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        const media = (response.content as Record<string, Json> | undefined)?.['application/json'];
        if (!media || !isErrorBody(media.schema)) continue;
        errorSchema ??= media.schema;
        media.schema = { $ref: '#/components/schemas/Error' };
        if (response.description === 'Default Response')
          response.description = ERROR_DESCRIPTIONS[status] ?? 'The request failed (error.message says why)';
      }
  const components = (doc.components ?? {}) as Json;
  if (errorSchema)
    components.schemas = {
      ...(components.schemas as Json | undefined),
      Error: {
        ...(errorSchema as Json),
        description: 'Every failure: a code to branch on, a message to show, and the correlation id to quote',
      },
    };
  return { ...doc, components };
}

/** The @fastify/swagger options: document facts, per-route security and the shared error body. */
export function swaggerOptions(externalUrl: string, version: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tessera API',
        version,
        description:
          'Credential management: people, devices, policies, certificates, issuance. Sign in with ' +
          'POST /api/auth/login (it sets the session cookie); send the returned csrfToken as the ' +
          'x-csrf-token header on every state-changing call.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      servers: [{ url: externalUrl.replace(/\/+$/, ''), description: 'This Tessera server' }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'tessera_session',
            description: 'The session cookie a sign-in sets (operator or user portal)',
          },
          csrf: {
            type: 'apiKey',
            in: 'header',
            name: 'x-csrf-token',
            description:
              'The session’s csrfToken (sign-in reply, GET /api/auth/session), required with the cookie on every POST, PUT, PATCH and DELETE',
          },
        },
      },
    },
    transform,
    transformObject: (documentObject) =>
      'openapiObject' in documentObject
        ? shareErrorBody(documentObject.openapiObject as Json)
        : documentObject.swaggerObject,
  };
}
