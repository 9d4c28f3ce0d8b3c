// The one place where errors become HTTP replies: every failure leaves as
// { error: { code, message, details?, correlationId } } with a status chosen by the code.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';

const STATUS_BY_CODE: Record<string, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  illegal_transition: 409,
  demo_unavailable: 409,
  no_demo_card: 409,
  payload_too_large: 413,
  render_failed: 422,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  // A derived mobile ID's card proof (domain/mobile-id.ts CARD_PROOF_CODES).
  card_required: 400,
  no_active_card: 409,
  card_not_inserted: 409,
  wrong_card: 409,
  card_pin_wrong: 403,
  card_pin_blocked: 403,
  card_certificate_invalid: 409,
  card_signature_invalid: 403,
  card_challenge_unknown: 404,
  card_challenge_expired: 409,
  card_challenge_used: 409,
};

/** Maps a domain error code to a status; unknown codes from peers (card, CA, agent) are 502. */
export const statusFor = (code: string): number => STATUS_BY_CODE[code] ?? 502;

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; correlationId: string };
}

export function errorBody(
  code: string,
  message: string,
  correlationId: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, ...(details ? { details } : {}), correlationId } };
}

type AjvIssue = {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
};

function describeValidation(err: FastifyError): { message: string; details: Record<string, unknown> } {
  const issues = ((err as unknown as { validation?: AjvIssue[] }).validation ?? []).map((v) => {
    const where = `${(err as unknown as { validationContext?: string }).validationContext ?? 'body'}${v.instancePath ?? ''}`;
    if (v.keyword === 'additionalProperties')
      return { field: where, message: `unknown field "${String(v.params?.additionalProperty)}"` };
    if (v.keyword === 'required')
      return { field: where, message: `missing field "${String(v.params?.missingProperty)}"` };
    return { field: where, message: v.message ?? 'is invalid' };
  });
  const message = issues.length
    ? `Invalid request: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`
    : `Invalid request: ${err.message}`;
  return { message, details: { issues } };
}

export function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const cid = String(req.id);
  if (err instanceof DomainError) {
    const status = statusFor(err.code);
    if (status >= 500) req.log.error({ err, code: err.code }, 'request failed in a peer');
    return reply.status(status).send(errorBody(err.code, err.message, cid, err.details));
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const { message, details } = describeValidation(fe);
    return reply.status(400).send(errorBody('validation_failed', message, cid, details));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply
        .status(400)
        .send(
          errorBody(
            'validation_failed',
            'The request body is not valid JSON: check quotes, commas and brackets',
            cid,
          ),
        );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply.status(413).send(errorBody('payload_too_large', 'The request body is too large', cid));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply
        .status(415)
        .send(errorBody('unsupported_media_type', 'Send the request body as application/json', cid));
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return reply.status(fe.statusCode).send(errorBody('validation_failed', fe.message, cid));
  req.log.error({ err }, 'unexpected error');
  return reply
    .status(500)
    .send(
      errorBody(
        'internal',
        'Something went wrong on the server. Quote the correlation id when you report it',
        cid,
      ),
    );
}
