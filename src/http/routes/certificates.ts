// /api/certificates: search, view (decoded), PEM download, suspend / reinstate / revoke, and
// recovery of an archived key as a one-time-password PKCS#12. Permissions per the API contract.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { CertificateQueries } from '../../services/pki/certificate-queries.js';
import type { KeyRecovery } from '../../services/pki/key-recovery.js';
import type { Revocation } from '../../services/pki/revocation.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, listOf, type Paged } from '../schemas.js';
import { ok, op, text } from '../openapi.js';
import {
  CertificateDetail,
  CertificateSearch,
  CertificateSummary,
  RecoverBody,
  RecoveredKey,
  RevokeBody,
} from '../schemas/certificates.js';

const Empty = Type.Object({}, { additionalProperties: false });

export const certificateRoutes =
  (deps: {
    certificates: CertificateQueries;
    revocation: Pick<Revocation, 'suspend' | 'reinstate' | 'revoke'>;
    keyRecovery: Pick<KeyRecovery, 'recover'>;
  }): FastifyPluginAsync =>
  async (app) => {
    const { certificates, revocation, keyRecovery } = deps;

    app.get(
      '/api/certificates',
      {
        config: { permission: 'certificate.read' },
        schema: {
          ...op(
            'listCertificates',
            'certificates',
            'Search certificates by person, device, status, serial or subject',
          ),
          querystring: CertificateSearch,
          response: {
            200: ok(
              listOf(CertificateSummary),
              'A page of the certificates that match, and how many match in all',
            ),
            ...errorResponses,
          },
        },
      },
      async (req) => certificates.search(req.query as Paged<CertificateSearch>),
    );

    app.get(
      '/api/certificates/:id',
      {
        config: { permission: 'certificate.read' },
        schema: {
          ...op('getCertificate', 'certificates', 'One certificate with its decoded fields'),
          params: IdParams,
          response: {
            200: ok(CertificateDetail, 'The certificate with its decoded fields'),
            ...errorResponses,
          },
        },
      },
      async (req) => certificates.get((req.params as IdParams).id),
    );

    app.get(
      '/api/certificates/:id/pem',
      {
        config: { permission: 'certificate.read' },
        schema: {
          ...op('getCertificatePem', 'certificates', 'Download the certificate as PEM'),
          params: IdParams,
          response: {
            200: text('The certificate, PEM-encoded (sent as an attachment, certificate-{id}.pem)'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const id = (req.params as IdParams).id;
        const pem = await certificates.pem(id);
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
            ...op(
              `${action}Certificate`,
              'certificates',
              action === 'suspend'
                ? 'Suspend (certificateHold on the CRL and in OCSP)'
                : 'Reinstate a suspended certificate (lift the hold)',
            ),
            params: IdParams,
            body: Type.Optional(Empty),
            response: {
              200: ok(
                CertificateSummary,
                action === 'suspend'
                  ? 'The certificate, on hold (on the next CRL and in OCSP at once)'
                  : 'The certificate, valid again',
              ),
              ...errorResponses,
            },
          },
        },
        async (req) => revocation[action](actorOf(req), (req.params as IdParams).id),
      );

    app.post(
      '/api/certificates/:id/revoke',
      {
        config: { permission: 'certificate.revoke' },
        schema: {
          ...op('revokeCertificate', 'certificates', 'Revoke with an RFC 5280 reason (final)'),
          params: IdParams,
          body: RevokeBody,
          response: {
            200: ok(CertificateSummary, 'The certificate, revoked (on the next CRL and in OCSP at once)'),
            ...errorResponses,
          },
        },
      },
      async (req) =>
        revocation.revoke(actorOf(req), (req.params as IdParams).id, (req.body as RevokeBody).reason),
    );

    app.post(
      '/api/certificates/:id/recover-key',
      {
        config: { permission: 'key.recover' },
        schema: {
          ...op(
            'recoverKey',
            'certificates',
            'Recover an archived key-management key as PKCS#12 with a one-time password',
          ),
          params: IdParams,
          body: Type.Optional(RecoverBody),
          response: {
            200: ok(RecoveredKey, 'The key as base64 PKCS#12 and its one-time password (shown once)'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as RecoverBody;
        const r = await keyRecovery.recover(actorOf(req), (req.params as IdParams).id, {
          format: 'pkcs12',
          ...(body.reason ? { reason: body.reason } : {}),
        });
        if (r.format !== 'pkcs12') throw new Error('expected a PKCS#12 recovery');
        reply.header('cache-control', 'no-store');
        return { pkcs12Base64: r.pkcs12.toString('base64'), password: r.password };
      },
    );
  };
