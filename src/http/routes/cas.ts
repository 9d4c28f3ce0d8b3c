// /api/cas: the CA hierarchy with each CA's current CRL number and next update, and the import
// of an enterprise issuing CA (certificate chain + key as PEM, or PKCS#12).
import type { FastifyPluginAsync } from 'fastify';
import type { CaAdmin, CaImport } from '../../services/pki/ca-admin.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { Ca, CaList, CaImport as ImportBody } from '../schemas/cas.js';

export const caRoutes =
  (deps: { cas: Pick<CaAdmin, 'list' | 'importCa'> }): FastifyPluginAsync =>
  async (app) => {
    const { cas } = deps;

    app.get(
      '/api/cas',
      {
        config: { permission: 'ca.read' },
        schema: {
          ...op('listCas', 'certificate authorities', 'The CA hierarchy with each CA’s current CRL'),
          response: { 200: ok(CaList, 'The CAs, each with its current CRL'), ...errorResponses },
        },
      },
      async () => ({ items: await cas.list() }),
    );

    app.post(
      '/api/cas/import',
      {
        config: { permission: 'ca.manage' },
        bodyLimit: 512 * 1024, // a PKCS#12 or a PEM chain with its key
        schema: {
          ...op(
            'importCa',
            'certificate authorities',
            'Import an issuing CA (chain + key as PEM, or PKCS#12); it becomes the active issuing CA',
          ),
          body: ImportBody,
          response: { 201: ok(Ca, 'The CA, imported and now the active issuing CA'), ...errorResponses },
        },
      },
      async (req, reply) => reply.status(201).send(await cas.importCa(actorOf(req), req.body as CaImport)),
    );
  };
