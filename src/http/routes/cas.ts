// /api/cas: the CA hierarchy with each CA's current CRL number and next update, and the import
// of an enterprise issuing CA (certificate chain + key as PEM, or PKCS#12).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { CaImport, CertificateService } from '../../services/certificate-service.js';
import { actorOf } from '../auth-guard.js';
import { Timestamp, errorResponses, literalUnion } from '../schemas.js';

export const Ca = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: literalUnion(['root', 'issuing'] as const),
  subject: Type.String(),
  issuer: Type.String(),
  serial: Type.String(),
  notBefore: Timestamp,
  notAfter: Timestamp,
  keyAlgorithm: Type.String(),
  active: Type.Boolean(),
  imported: Type.Boolean(),
  crl: Type.Union([
    Type.Object({ number: Type.String(), thisUpdate: Timestamp, nextUpdate: Timestamp }),
    Type.Null(),
  ]),
});

const ImportBody = Type.Union([
  Type.Object(
    {
      certificateChainPem: Type.String({ minLength: 1, maxLength: 200_000 }),
      privateKeyPem: Type.String({ minLength: 1, maxLength: 20_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      pkcs12Base64: Type.String({ minLength: 1, maxLength: 300_000 }),
      password: Type.String({ maxLength: 1024 }),
    },
    { additionalProperties: false },
  ),
]);

export const caRoutes =
  (deps: { certificates: CertificateService }): FastifyPluginAsync =>
  async (app) => {
    const svc = deps.certificates;
    const tags = ['certificate authorities'];

    app.get(
      '/api/cas',
      {
        config: { permission: 'ca.read' },
        schema: {
          tags,
          summary: 'The CA hierarchy with each CA’s current CRL',
          response: { 200: Type.Object({ items: Type.Array(Ca) }), ...errorResponses },
        },
      },
      async () => ({ items: await svc.listCas() }),
    );

    app.post(
      '/api/cas/import',
      {
        config: { permission: 'ca.manage' },
        schema: {
          tags,
          summary: 'Import an issuing CA (chain + key as PEM, or PKCS#12); it becomes the active issuing CA',
          body: ImportBody,
          response: { 201: Ca, ...errorResponses },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(await svc.importCa(actorOf(req), req.body as Static<typeof ImportBody> as CaImport)),
    );
  };
