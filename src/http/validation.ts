// Request validation: bodies are checked strictly (a number where a string belongs is an error,
// not silently turned into "42"); query strings and path parameters arrive as text, so those are
// coerced to the declared types. Unknown fields are refused everywhere (no removeAdditional).
//
// Every string field gets the text rule (text-rule.ts) at compile time, so no route can forget it.
// Public routes (no session yet: sign-in, pairing) stop at the first error: collecting every error
// of an oversized array is work an anonymous caller could make the server do for nothing.
import { Ajv, type Options, type SchemaValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { textProblem } from './text-rule.js';

/** Schema keyword the compiler adds to every string: 'line' or, with `x-multiline`, 'multiline'. */
const TEXT_KEYWORD = 'x-text';

const checkText: SchemaValidateFunction = (mode: unknown, data: unknown): boolean => {
  if (typeof data !== 'string') return true;
  const problem = textProblem(data, mode === 'multiline');
  if (!problem) return true;
  checkText.errors = [{ keyword: TEXT_KEYWORD, message: problem, params: {} }];
  return false;
};

function makeAjv(coerce: boolean, allErrors: boolean) {
  const opts: Options = {
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: coerce ? 'array' : false,
    allErrors,
    strict: false,
  };
  const ajv = new Ajv(opts);
  addFormats.default(ajv);
  ajv.addKeyword({
    keyword: TEXT_KEYWORD,
    type: 'string',
    schemaType: 'string',
    errors: true,
    validate: checkText,
  });
  return ajv;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isStringSchema = (node: Record<string, Json>) =>
  node.type === 'string' || (Array.isArray(node.type) && node.type.includes('string'));

/**
 * A copy of `schema` with the text rule on every string and on the names of free-form keys (a
 * record's keys). Only own enumerable JSON keys are copied: TypeBox's symbols mean nothing to Ajv.
 */
export function withTextRule(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(withTextRule);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = withTextRule(v);
  if (isStringSchema(out) && out[TEXT_KEYWORD] === undefined)
    out[TEXT_KEYWORD] = out['x-multiline'] === true ? 'multiline' : 'line';
  if (out.patternProperties !== undefined && out.propertyNames === undefined)
    out.propertyNames = { type: 'string', [TEXT_KEYWORD]: 'line' };
  return out;
}

function compilerWith(allErrors: boolean): FastifySchemaCompiler<object> {
  const strict = makeAjv(false, allErrors);
  const coercing = makeAjv(true, allErrors);
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(withTextRule(schema as Json) as object) as ReturnType<
      FastifySchemaCompiler<object>
    >;
}

/** For routes behind a session: every problem is reported, so a form can show them all. */
export const validatorCompiler = compilerWith(true);
/** For public routes: the first problem ends the check. */
export const publicValidatorCompiler = compilerWith(false);
