// /api/certificates: search, view (decoded), PEM download, suspend / reinstate / revoke, and
// recovery of an archived key as a one-time-password PKCS#12. Permissions per the API contract.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { CertificateQueries } from '../../services/pki/certificate-queries.js';
import type { KeyRecovery } from '../../services/pki/key-recovery.js';
import type { Revocation } from '../../services/pki/revocation.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, errorResponses, listOf } from '../schemas.js';
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
    const tags = ['certificates'];

    app.get(
      '/api/certificates',
      {
        config: { permission: 'certificate.read' },
        schema: {
          tags,
          summary: 'Search certificates by person, device, status, serial or subject',
          querystring: CertificateSearch,
          response: { 200: listOf(CertificateSummary), ...errorResponses },
        },
      },
      async (req) => certificates.search(req.query as CertificateSearch),
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
      async (req) => certificates.get((req.params as IdParams).id),
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
        async (req) => revocation[action](actorOf(req), (req.params as IdParams).id),
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
        revocation.revoke(actorOf(req), (req.params as IdParams).id, (req.body as RevokeBody).reason),
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
          response: { 200: RecoveredKey, ...errorResponses },
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
