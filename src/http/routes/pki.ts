// The public PKI endpoints relying parties reach without a session: CA certificates (DER, PEM,
// chain), CRLs (DER only: OpenSSL rejects the "BEGIN CRL" PEM label), and OCSP over POST and GET
// (RFC 6960 Appendix A.1). OCSP never answers with an HTTP error for a bad request: it answers
// malformedRequest in OCSP's own terms. A GET answer anyone may be served (one certificate, no
// nonce) carries the HTTP caching headers of RFC 5019 §6.2, so a proxy or CDN can serve it too;
// a repeated request is answered from the responder's kept answers without parsing or signing.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../domain/errors.js';
import type { CaAdmin } from '../../services/pki/ca-admin.js';
import type { CrlPublisher } from '../../services/pki/crl-publisher.js';
import type { OcspReply, OcspResponder } from '../../services/pki/ocsp-responder.js';
import { file, noContent, op } from '../openapi.js';
import { ErrorResponse } from '../schemas.js';

const CA_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(crt|pem)$/i;
const CRL_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.crl$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** RFC 6960 requests are small; anything larger is not a request we answer. */
const OCSP_BODY_LIMIT = 64 * 1024;
const OCSP_REPLY =
  'The OCSP response: the status of each certificate asked about, or malformedRequest / unauthorized in OCSP terms';

/** A file name in the path; the handler answers 404 for one it does not know. */
const FileParams = (description: string) =>
  Type.Object({ file: Type.String({ maxLength: 100, description }) }, { additionalProperties: false });

export const pkiRoutes =
  (deps: {
    cas: Pick<CaAdmin, 'certificateDer' | 'certificatePem' | 'chainPem'>;
    crls: Pick<CrlPublisher, 'current'>;
    ocsp: Pick<OcspResponder, 'answer' | 'cached'>;
  }): FastifyPluginAsync =>
  async (app) => {
    const { cas, crls, ocsp } = deps;

    // OCSP clients post application/ocsp-request; take any body as bytes here (this plugin only),
    // so a wrong content type is still answered in OCSP terms.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );

    app.get(
      '/pki/ca/:file',
      {
        config: { public: true },
        schema: {
          ...op('getCaCertificate', 'pki', 'A CA certificate: {id}.crt (DER) or {id}.pem'),
          params: FileParams('{caId}.crt or {caId}.pem'),
          response: {
            200: file('The CA certificate, in the encoding the file name asks for', {
              'application/pkix-cert': 'DER ({caId}.crt)',
              'application/x-pem-file': 'PEM ({caId}.pem)',
            }),
            404: ErrorResponse,
          },
        },
      },
      async (req, reply) => {
        const file = (req.params as { file: string }).file;
        const m = CA_FILE.exec(file);
        if (!m) throw new NotFoundError('CA certificate', file);
        const id = m[1]!.toLowerCase();
        if (m[2]!.toLowerCase() === 'crt')
          return reply.type('application/pkix-cert').send(await cas.certificateDer(id));
        return reply.type('application/x-pem-file').send(await cas.certificatePem(id));
      },
    );

    app.get(
      '/pki/ca/:id/chain.pem',
      {
        config: { public: true },
        schema: {
          ...op('getCaChain', 'pki', 'The CA certificate and the ones above it (PEM)'),
          params: Type.Object(
            { id: Type.String({ maxLength: 100, description: 'The CA’s id' }) },
            { additionalProperties: false },
          ),
          response: {
            200: file('The chain, from this CA up to its root, PEM-encoded', {
              'application/x-pem-file': 'PEM certificates, this CA first',
            }),
            404: ErrorResponse,
          },
        },
      },
      async (req, reply) => {
        const id = (req.params as { id: string }).id;
        if (!UUID.test(id)) throw new NotFoundError('CA', id);
        return reply.type('application/x-pem-file').send(await cas.chainPem(id.toLowerCase()));
      },
    );

    app.get(
      '/pki/crl/:file',
      {
        config: { public: true },
        schema: {
          ...op('getCrl', 'pki', 'The CA’s current CRL, DER ({caId}.crl)'),
          params: FileParams('{caId}.crl'),
          response: {
            200: file('The CA’s current CRL', { 'application/pkix-crl': 'DER-encoded CRL' }),
            404: ErrorResponse,
          },
        },
      },
      async (req, reply) => {
        const file = (req.params as { file: string }).file;
        const m = CRL_FILE.exec(file);
        if (!m) throw new NotFoundError('CRL', file);
        return reply.type('application/pkix-crl').send(await crls.current(m[1]!.toLowerCase()));
      },
    );

    app.post(
      '/pki/ocsp',
      {
        // The body is documented, not validated: a bad request is answered in OCSP terms.
        config: {
          public: true,
          openapi: { body: { 'application/ocsp-request': 'DER-encoded OCSP request' } },
        },
        bodyLimit: OCSP_BODY_LIMIT,
        schema: {
          ...op('postOcspRequest', 'pki', 'OCSP (RFC 6960): post a DER request, application/ocsp-request'),
          response: {
            200: file(OCSP_REPLY, { 'application/ocsp-response': 'DER-encoded OCSP response' }),
            413: ErrorResponse,
          },
        },
      },
      async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        // The body's bytes name the request: a repeated one finds its kept answer.
        const key = body.length > 0 && body.length <= 512 ? `p${body.toString('latin1')}` : null;
        const answer = (key !== null ? ocsp.cached(key) : null) ?? (await ocsp.answer(body, key));
        // POST answers are not cached by HTTP intermediaries (RFC 5019 §5).
        return reply.type('application/ocsp-response').header('cache-control', 'no-cache').send(answer.der);
      },
    );

    app.get(
      '/pki/ocsp/*',
      {
        config: {
          public: true,
          openapi: {
            wildcard: {
              name: 'request',
              schema: Type.String({ description: 'The DER OCSP request, base64-encoded, then URL-encoded' }),
            },
          },
        },
        schema: {
          ...op('getOcspResponse', 'pki', 'OCSP over GET (RFC 6960 A.1): the request in the path'),
          response: {
            200: file(`${OCSP_REPLY}; with RFC 5019 caching headers when anyone may be served it`, {
              'application/ocsp-response': 'DER-encoded OCSP response',
            }),
            304: noContent('Not modified: the answer the client holds (If-None-Match) is still current'),
          },
        },
      },
      async (req, reply) => {
        const raw = (req.params as { '*': string })['*'] ?? '';
        // The path names the request: a repeated one finds its kept answer without decoding.
        const key = raw.length <= 1024 ? `g${raw}` : null;
        let answer = key !== null ? ocsp.cached(key) : null;
        if (!answer) {
          let der: Buffer;
          try {
            der = Buffer.from(decodeURIComponent(raw), 'base64');
          } catch {
            der = Buffer.alloc(0);
          }
          answer = await ocsp.answer(der, key);
        }
        reply.type('application/ocsp-response');
        if (!answer.cache) return reply.header('cache-control', 'no-cache').send(answer.der);
        setCacheHeaders(reply, answer.cache);
        if (req.headers['if-none-match'] === answer.cache.etag) return reply.code(304).send();
        return reply.send(answer.der);
      },
    );
  };

/**
 * RFC 5019 §6.2: Last-Modified is producedAt, Expires the nextUpdate, max-age the seconds until the
 * answer would be renewed here, ETag the answer's hash; public, no-transform (the bytes are
 * signed), must-revalidate.
 */
function setCacheHeaders(
  reply: { header(name: string, value: string): unknown },
  c: NonNullable<OcspReply['cache']>,
): void {
  reply.header('cache-control', `max-age=${c.maxAgeSeconds}, public, no-transform, must-revalidate`);
  reply.header('etag', c.etag);
  reply.header('last-modified', c.producedAt.toUTCString());
  reply.header('expires', c.nextUpdate.toUTCString());
}
