// The rules every operation of the OpenAPI document keeps, so that a client generated from it can
// name each call and trust what it says (issue #21): a unique verbNoun operationId, a summary, one
// declared tag, a description of every reply, security that matches the route's declared access,
// and errors that point at the one shared Error schema. Returns what is wrong, one line each.
import type { DeclaredRoute } from '../../src/http/auth-guard.js';

interface Response {
  description?: string;
  content?: Record<string, { schema?: Record<string, unknown> }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses?: Record<string, Response>;
}
export interface OpenApiDocument {
  tags?: { name: string; description?: string }[];
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

/** verbNoun: a lower-case verb, then one or more capitalised words (listUsers, getCaCertificate). */
const VERB_NOUN = /^[a-z]+(?:[A-Z][a-z0-9]*)+$/;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Fastify's pattern as the document writes it: `/api/users/:id` → `/api/users/{id}`. */
export const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

export function operationProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  const tags = new Set((doc.tags ?? []).map((t) => t.name));
  const seen = new Map<string, string>();
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const where = `${method.toUpperCase()} ${path}`;
      const id = op.operationId;
      if (!id) problems.push(`${where}: no operationId`);
      else if (!VERB_NOUN.test(id)) problems.push(`${where}: operationId ${id} is not verbNoun`);
      else if (seen.has(id)) problems.push(`${where}: operationId ${id} is also ${seen.get(id)}`);
      if (id) seen.set(id, where);
      if (!op.summary?.trim()) problems.push(`${where}: no summary`);
      if (op.tags?.length !== 1) problems.push(`${where}: ${op.tags?.length ?? 0} tags, not one`);
      else if (!tags.has(op.tags[0]!)) problems.push(`${where}: tag "${op.tags[0]}" is not declared`);
      if (!Array.isArray(op.security)) problems.push(`${where}: no security`);
      const responses = Object.entries(op.responses ?? {});
      if (!responses.some(([status]) => status.startsWith('2'))) problems.push(`${where}: no 2xx reply`);
      for (const [status, r] of responses) {
        if (!r.description?.trim() || r.description === 'Default Response')
          problems.push(`${where} ${status}: the reply does not say what happened`);
        const json = r.content?.['application/json']?.schema;
        if (Number(status) >= 400 && json && json.$ref !== '#/components/schemas/Error')
          problems.push(`${where} ${status}: the error body is not the shared Error schema`);
      }
    }
  return problems;
}

/**
 * Every route the guard saw declared is documented (but for `undocumented`), and its security says
 * what its access means: `[]` when public, the session otherwise, with the CSRF header on unsafe
 * methods.
 */
export function securityProblems(
  doc: OpenApiDocument,
  declared: readonly DeclaredRoute[],
  undocumented: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const r of declared) {
    const key = `${r.method} ${r.url}`;
    if (undocumented.has(key)) continue;
    const path = openapiPath(r.url);
    // A wildcard route is documented with a named parameter in place of the `*`.
    const documented = path.endsWith('*')
      ? Object.keys(doc.paths).find((p) => new RegExp(`^${path.slice(0, -1)}\\{\\w+\\}$`).test(p))
      : path;
    const op = documented ? doc.paths[documented]?.[r.method.toLowerCase()] : undefined;
    if (!op) {
      problems.push(`${key}: not in the document`);
      continue;
    }
    const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
    if (r.access === 'public') {
      if (op.security?.length !== 0)
        problems.push(`${key}: public, but security is ${JSON.stringify(op.security)}`);
    } else if (!schemes.includes('session'))
      problems.push(`${key}: needs a session, security does not say so`);
    else if (UNSAFE.has(r.method) && !schemes.includes('csrf'))
      problems.push(`${key}: changes state, security does not name the x-csrf-token header`);
    else if (!UNSAFE.has(r.method) && schemes.includes('csrf'))
      problems.push(`${key}: reads only, yet security asks for the x-csrf-token header`);
  }
  return problems;
}
