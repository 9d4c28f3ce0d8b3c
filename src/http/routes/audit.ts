import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { errorResponses, listOf, type Paged } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { AuditEvent, AuditSearch, AuditVerification } from '../schemas/audit.js';

export const auditRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/audit',
      {
        config: { permission: 'audit.read' },
        schema: {
          ...op('listAuditEvents', 'audit', 'Audit events, newest first'),
          querystring: AuditSearch,
          response: {
            200: ok(listOf(AuditEvent), 'A page of audit events, newest first, and how many match in all'),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const r = await rt.services.audit.list(req.query as Paged<AuditSearch>);
        return { total: r.total, items: r.items.map((e) => ({ ...e, at: e.at.toISOString() })) };
      },
    );
    app.get(
      '/api/audit/verify',
      {
        config: { permission: 'audit.verify' },
        schema: {
          ...op('verifyAuditLog', 'audit', 'Check the hash chain of the whole audit log'),
          response: {
            200: ok(AuditVerification, 'Whether the hash chain is intact, and where it breaks if not'),
            ...errorResponses,
          },
        },
      },
      async () => rt.services.audit.verify(),
    );
  };
