// Request samples generated from the server's OpenAPI document: a valid body with every field
// present (the base the fuzz test breaks one field at a time), the largest body a schema allows,
// and the list of string fields. Only the JSON-schema subset our routes use is understood
// (object, array, string, integer, number, boolean, enum, anyOf, nullable, records).
import { randomUUID } from 'node:crypto';

export type Schema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  nullable?: boolean;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
};

export interface Operation {
  method: string;
  /** OpenAPI path, e.g. /api/users/{id}. */
  path: string;
  body?: Schema;
  query: Record<string, Schema>;
  params: Record<string, Schema>;
  public: boolean;
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
        parameters?: { in: string; name: string; schema: Schema }[];
      }
    >
  >;
}

/** Every operation of the document with its input schemas. */
export function operations(doc: unknown): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries((doc as OpenApiDoc).paths))
    for (const [method, op] of Object.entries(ops)) {
      const params = op.parameters ?? [];
      const pick = (where: string) =>
        Object.fromEntries(params.filter((p) => p.in === where).map((p) => [p.name, p.schema]));
      out.push({
        method: method.toUpperCase(),
        path,
        body: op.requestBody?.content?.['application/json']?.schema,
        query: pick('query'),
        params: pick('path'),
        public: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  return out;
}

/** The first branch of a union that is not null (the shape a client would normally send). */
export const mainBranch = (s: Schema): Schema =>
  s.anyOf ? mainBranch(s.anyOf.find((b) => b.type !== 'null') ?? s.anyOf[0]!) : s;

const stringSample = (s: Schema, size: 'base' | 'max'): string => {
  switch (s.format) {
    case 'uuid':
      return randomUUID();
    case 'date-time':
      return '2030-01-01T00:00:00.000Z';
    case 'email':
      return 'someone@example.org';
  }
  const n = size === 'max' ? (s.maxLength ?? 64) : Math.max(s.minLength ?? 1, 5);
  return 'a'.repeat(Math.min(n, s.maxLength ?? n));
};

/**
 * A body the schema accepts with every declared field present ('base': small values), or the
 * largest one it allows ('max': strings at maxLength, arrays at maxItems, records full).
 */
export function sample(schema: Schema, size: 'base' | 'max'): unknown {
  const s = mainBranch(schema);
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sample(v, size);
      if (typeof s.additionalProperties === 'object') {
        const n = size === 'max' ? (s.maxProperties ?? 1) : 1;
        for (let i = 0; i < n; i++)
          out[`k${String(i).padStart(size === 'max' ? 63 : 1, '0')}`] = sample(s.additionalProperties, size);
      }
      return out;
    }
    case 'array': {
      const n = size === 'max' ? (s.maxItems ?? 1) : Math.max(s.minItems ?? 0, 1);
      const enumItems = s.items?.anyOf?.every((b) => b.enum) ? s.items.anyOf.map((b) => b.enum![0]) : null;
      // Unique enum members where the array wants unique items (roles, device types).
      if (enumItems) return enumItems.slice(0, Math.max(1, Math.min(n, enumItems.length)));
      return Array.from({ length: n }, () => sample(s.items ?? {}, size));
    }
    case 'string':
      return stringSample(s, size);
    case 'integer':
    case 'number':
      return size === 'max' ? (s.maximum ?? 1) : (s.minimum ?? 1);
    case 'boolean':
      return true;
    default:
      return size === 'max' ? 'x'.repeat(64) : {};
  }
}

export type FieldPath = (string | number)[];

/** Paths of every string in `value` (a sample), and of every key of a record. */
export function stringPaths(value: unknown, at: FieldPath = []): FieldPath[] {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...at, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...at, k]));
  return [];
}

/** A deep copy of `value` with the value at `path` replaced by `fn(old)`. */
export function setAt(value: unknown, path: FieldPath, fn: (old: unknown) => unknown): unknown {
  if (path.length === 0) return fn(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? setAt(v, rest, fn) : v));
  const obj = value as Record<string, unknown>;
  return { ...obj, [head!]: setAt(obj[head!], rest, fn) };
}

/** A deep copy of `value` without the key at `path`. */
export function removeAt(value: unknown, path: FieldPath): unknown {
  const parent = path.slice(0, -1);
  const key = path[path.length - 1]!;
  return setAt(value, parent, (o) => {
    const { [key]: _gone, ...rest } = o as Record<string, unknown>;
    return rest;
  });
}

/** The schema that describes the value at `path` of a sample of `schema`. */
export function schemaAt(schema: Schema, path: FieldPath): Schema {
  let s = mainBranch(schema);
  for (const key of path) {
    if (s.type === 'array') s = mainBranch(s.items ?? {});
    else if (s.properties && typeof key === 'string' && key in s.properties)
      s = mainBranch(s.properties[key]!);
    else if (typeof s.additionalProperties === 'object') s = mainBranch(s.additionalProperties);
    else return {};
  }
  return s;
}
