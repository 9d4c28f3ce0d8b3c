// The directory connection (LDAP): settings with a write-only bind password, a connection test and
// a sync. Permission directory.manage.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { DirectoryInput } from '../../services/directory-service.js';
import { actorOf } from '../auth-guard.js';
import { ErrorResponse, Role, errorResponses, literalUnion } from '../schemas.js';

const Dn = Type.String({ maxLength: 1024 });
const Attr = Type.String({ minLength: 1, maxLength: 64 });
const Filter = Type.String({ minLength: 3, maxLength: 2048 });

const ConfigFields = {
  enabled: Type.Boolean(),
  url: Type.String({ minLength: 8, maxLength: 512 }),
  startTls: Type.Boolean(),
  tlsVerify: Type.Boolean(),
  caCertificatePem: Type.Union([Type.String({ maxLength: 65536 }), Type.Null()]),
  bindDn: Dn,
  baseDn: Dn,
  userFilter: Filter,
  externalId: literalUnion(['entryUUID', 'dn'] as const),
  attributes: Type.Object(
    { username: Attr, displayName: Attr, email: Type.Union([Attr, Type.Null()]) },
    { additionalProperties: false },
  ),
  properties: Type.Record(
    Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_.-]*$' }),
    Attr,
    {
      maxProperties: 50,
    },
  ),
  groups: Type.Object(
    { baseDn: Type.Union([Dn, Type.Null()]), filter: Filter, memberAttribute: Attr },
    { additionalProperties: false },
  ),
  groupRoles: Type.Array(
    Type.Object(
      {
        group: Type.String({ minLength: 3, maxLength: 1024 }),
        roles: Type.Array(Role, { minItems: 1, uniqueItems: true }),
      },
      { additionalProperties: false },
    ),
    { maxItems: 100 },
  ),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 120 }),
};

const DirectoryBody = Type.Object(
  {
    ...ConfigFields,
    bindPassword: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
  },
  { additionalProperties: false },
);

// The reply has no bindPassword field: the serializer drops anything undeclared, so it cannot leak.
const DirectoryView = Type.Object({
  ...ConfigFields,
  configured: Type.Boolean(),
  hasBindPassword: Type.Boolean(),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SyncReport = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  suspended: Type.Integer(),
  unchanged: Type.Integer(),
  errors: Type.Array(Type.String()),
});

const peerErrors = { 502: ErrorResponse };

export const directoryRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const dir = rt.services.directory;
    const tags = ['directory'];

    app.get(
      '/api/directory',
      {
        config: { permission: 'directory.manage' },
        schema: {
          tags,
          summary: 'The directory (LDAP) connection settings; the bind password is never returned',
          response: { 200: DirectoryView, ...errorResponses },
        },
      },
      async () => dir.get(),
    );

    app.put(
      '/api/directory',
      {
        config: { permission: 'directory.manage' },
        schema: {
          tags,
          summary: 'Change the directory settings (omit bindPassword to keep it, null to remove it)',
          body: DirectoryBody,
          response: { 200: DirectoryView, ...errorResponses },
        },
      },
      async (req) => dir.put(actorOf(req), req.body as Static<typeof DirectoryBody> as DirectoryInput),
    );

    app.post(
      '/api/directory/test',
      {
        config: { permission: 'directory.manage' },
        schema: {
          tags,
          summary: 'Connect, bind as the service account and count the people the filter selects',
          response: {
            200: Type.Object({
              ok: Type.Boolean(),
              userCount: Type.Integer(),
              warnings: Type.Optional(Type.Array(Type.String())),
            }),
            ...errorResponses,
            ...peerErrors,
          },
        },
      },
      async () => dir.test(),
    );

    app.post(
      '/api/directory/sync',
      {
        config: { permission: 'directory.manage' },
        schema: {
          tags,
          summary: 'Import and update people from the directory; suspend those removed from it',
          response: { 200: SyncReport, ...errorResponses, ...peerErrors },
        },
      },
      async (req) => dir.sync(actorOf(req)),
    );
  };
