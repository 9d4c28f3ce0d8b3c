// GET /api/meta: what the web app needs to know before anyone signs in.
import { Type, type Static } from '@sinclair/typebox';

export const Meta = Type.Object({
  version: Type.String(),
  demo: Type.Boolean(),
  externalUrl: Type.String(),
  mail: Type.Boolean({ description: 'Whether the server sends e-mail (TESSERA_SMTP_URL)' }),
});
export type Meta = Static<typeof Meta>;

/** GET /healthz: the process answers. */
export const Health = Type.Object({ status: Type.Literal('ok') });
/** GET /readyz: the process answers and its database too. */
export const Readiness = Type.Object({ status: Type.Literal('ready') });

const Instance = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String({ description: 'TESSERA_INSTANCE_NAME, or the host name and process id' }),
  pid: Type.Integer(),
  version: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  heartbeatAt: Type.String({ format: 'date-time' }),
  leaseUntil: Type.String({ format: 'date-time' }),
  alive: Type.Boolean({ description: 'Holds a lease now (renewed by its heartbeat)' }),
});

/** GET /api/health/instances: the servers sharing the database, and which one answered. */
export const Instances = Type.Object({
  self: Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String() }),
  alive: Type.Integer({ description: 'How many servers hold a lease now, this one included' }),
  instances: Type.Array(Instance, { description: 'Alive ones first, then those dead within a day' }),
});
