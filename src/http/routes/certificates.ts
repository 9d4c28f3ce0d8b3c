// /api/certificates: search, view (decoded), PEM download, suspend / reinstate / revoke, and
// recovery of an archived key as a one-time-password PKCS#12. Permissions per the API contract.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { REVOCATION_REASONS } from '../../domain/credential.js';
import type { CertificateService } from '../../services/certificate-service.js';
import { actorOf } from '../auth-guard.js';
import {
  IdParams,
  NullableTimestamp,
  Paging,
  Timestamp,
  errorResponses,
  listOf,
  literalUnion,
} from '../schemas.js';

const Status = literalUnion(['valid', 'suspended', 'revoked'] as const);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const CertificateSummary = Type.Object({
  id: Type.String(),
  serial: Type.String({ description: 'Hex, lower case' }),
  caId: Type.String(),
  userId: NullableString,
  deviceId: NullableString,
  credentialId: NullableString,
  profile: Type.String(),
  slot: NullableString,
  subject: Type.String(),
  notBefore: Timestamp,
  notAfter: Timestamp,
  status: Status,
  revocationReason: NullableString,
  revokedAt: NullableTimestamp,
});

export const CertificateDetail = Type.Composite([
  CertificateSummary,
  Type.Object({
    pem: Type.String(),
    issuer: Type.String(),
    subjectAltNames: Type.Array(Type.String()),
    keyUsage: Type.Array(Type.String()),
    extendedKeyUsage: Type.Array(Type.String()),
    publicKeyAlgorithm: Type.String(),
    signatureAlgorithm: Type.String(),
    crlDistributionPoints: Type.Array(Type.String()),
    ocspUrls: Type.Array(Type.String()),
    caIssuersUrls: Type.Array(Type.String()),
  }),
]);

const Search = Type.Object(
  {
    userId: Type.Optional(Type.String({ format: 'uuid' })),
    deviceId: Type.Optional(Type.String({ format: 'uuid' })),
    status: Type.Optional(Status),
    serial: Type.Optional(Type.String({ maxLength: 64, pattern: '^[0-9A-Fa-f:]*$' })),
    q: Type.Optional(Type.String({ maxLength: 128 })),
    ...Paging,
  },
  { additionalProperties: false },
);
const Empty = Type.Object({}, { additionalProperties: false });
const RevokeBody = Type.Object({ reason: literalUnion(REVOCATION_REASONS) }, { additionalProperties: false });
const RecoverBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const Recovered = Type.Object({
  pkcs12Base64: Type.String(),
  password: Type.String({ description: 'One-time password protecting the PKCS#12; shown once' }),
});

export const certificateRoutes =
  (deps: { certificates: CertificateService }): FastifyPluginAsync =>
  async (app) => {
    const svc = deps.certificates;
    const tags = ['certificates'];

    app.get(
      '/api/certificates',
      {
        config: { permission: 'certificate.read' },
        schema: {
          tags,
          summary: 'Search certificates by person, device, status, serial or subject',
          querystring: Search,
          response: { 200: listOf(CertificateSummary), ...errorResponses },
        },
      },
      async (req) => svc.search(req.query as Static<typeof Search>),
    );

    app.get(
      '/api/certificates/:id',
      {
        config: { permission: 'certificate.read' },
        schema: {
          tags,
          summary: 'One certificate with its decoded fields',
          params: IdParams,
          response: { 200: CertificateDetail, ...errorResponses },
        },
      },
      async (req) => svc.get((req.params as IdParams).id),
    );

    app.get(
      '/api/certificates/:id/pem',
      {
        config: { permission: 'certificate.read' },
        schema: {
          tags,
          summary: 'Download the certificate as PEM',
          params: IdParams,
          response: { 200: Type.String(), ...errorResponses },
        },
      },
      async (req, reply) => {
        const id = (req.params as IdParams).id;
        const pem = await svc.pem(id);
        return reply
          .type('text/plain; charset=utf-8')
          .header('content-disposition', `attachment; filename="certificate-${id}.pem"`)
          .send(pem);
      },
    );

    for (const action of ['suspend', 'reinstate'] as const)
      app.post(
        `/api/certificates/:id/${action}`,
        {
          config: { permission: 'certificate.suspend' },
          schema: {
            tags,
            summary:
              action === 'suspend'
                ? 'Suspend (certificateHold on the CRL and in OCSP)'
                : 'Reinstate a suspended certificate (lift the hold)',
            params: IdParams,
            body: Type.Optional(Empty),
            response: { 200: CertificateSummary, ...errorResponses },
          },
        },
        async (req) => svc[action](actorOf(req), (req.params as IdParams).id),
      );

    app.post(
      '/api/certificates/:id/revoke',
      {
        config: { permission: 'certificate.revoke' },
        schema: {
          tags,
          summary: 'Revoke with an RFC 5280 reason (final)',
          params: IdParams,
          body: RevokeBody,
          response: { 200: CertificateSummary, ...errorResponses },
        },
      },
      async (req) =>
        svc.revoke(actorOf(req), (req.params as IdParams).id, (req.body as Static<typeof RevokeBody>).reason),
    );

    app.post(
      '/api/certificates/:id/recover-key',
      {
        config: { permission: 'key.recover' },
        schema: {
          tags,
          summary: 'Recover an archived key-management key as PKCS#12 with a one-time password',
          params: IdParams,
          body: Type.Optional(RecoverBody),
          response: { 200: Recovered, ...errorResponses },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as Static<typeof RecoverBody>;
        const r = await svc.recoverKey(actorOf(req), (req.params as IdParams).id, {
          format: 'pkcs12',
          ...(body.reason ? { reason: body.reason } : {}),
        });
        if (r.format !== 'pkcs12') throw new Error('expected a PKCS#12 recovery');
        reply.header('cache-control', 'no-store');
        return { pkcs12Base64: r.pkcs12.toString('base64'), password: r.password };
      },
    );
  };
