import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { errorResponses, listOf } from '../schemas.js';
import { AuditEvent, AuditSearch, AuditVerification } from '../schemas/audit.js';

export const auditRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const tags = ['audit'];
    app.get(
      '/api/audit',
      {
        config: { permission: 'audit.read' },
        schema: {
          tags,
          summary: 'Audit events, newest first',
          querystring: AuditSearch,
          response: { 200: listOf(AuditEvent), ...errorResponses },
        },
      },
      async (req) => {
        const r = await rt.services.audit.list(req.query as AuditSearch);
        return { total: r.total, items: r.items.map((e) => ({ ...e, at: e.at.toISOString() })) };
      },
    );
    app.get(
      '/api/audit/verify',
      {
        config: { permission: 'audit.verify' },
        schema: {
          tags,
          summary: 'Check the hash chain of the whole audit log',
          response: { 200: AuditVerification, ...errorResponses },
        },
      },
      async () => rt.services.audit.verify(),
    );
  };
