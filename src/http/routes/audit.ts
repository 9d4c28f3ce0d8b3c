import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { Paging, Timestamp, Uuid, errorResponses } from '../schemas.js';

const Query = Type.Object(
  {
    targetType: Type.Optional(Type.String({ maxLength: 64 })),
    targetId: Type.Optional(Type.String({ maxLength: 128 })),
    actorId: Type.Optional(Uuid),
    action: Type.Optional(Type.String({ maxLength: 64 })),
    ...Paging,
  },
  { additionalProperties: false },
);
const Event = Type.Object({
  seq: Type.Integer(),
  at: Timestamp,
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorName: Type.String(),
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  correlationId: Type.Union([Type.String(), Type.Null()]),
});
const Verification = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  brokenAt: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});

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
          querystring: Query,
          response: {
            200: Type.Object({ items: Type.Array(Event), total: Type.Integer() }),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const r = await rt.services.audit.list(req.query as Static<typeof Query>);
        return { total: r.total, items: r.items.map((e) => ({ ...e, at: e.at.toISOString() })) };
      },
    );
    app.get(
      '/api/audit/verify',
      {
        config: { permission: 'audit.read' },
        schema: {
          tags,
          summary: 'Check the hash chain of the whole audit log',
          response: { 200: Verification, ...errorResponses },
        },
      },
      async () => rt.services.audit.verify(),
    );
  };
