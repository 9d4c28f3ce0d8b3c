// The directory (LDAP) connection: its settings, with a write-only bind password, the connection
// test and the sync report.
import { Type, type Static } from '@sinclair/typebox';
import { ROLES } from '../../domain/permissions.js';
import { literalUnion, MultilineText, Role } from '../schemas.js';

const Dn = Type.String({ maxLength: 1024 });
const Attr = Type.String({ minLength: 1, maxLength: 64 });
const Filter = Type.String({ minLength: 3, maxLength: 2048 });

const ConfigFields = {
  enabled: Type.Boolean(),
  url: Type.String({ minLength: 8, maxLength: 512 }),
  startTls: Type.Boolean(),
  tlsVerify: Type.Boolean(),
  caCertificatePem: Type.Union([MultilineText({ maxLength: 65536 }), Type.Null()]),
  bindDn: Dn,
  baseDn: Dn,
  userFilter: Filter,
  externalId: literalUnion(['entryUUID', 'dn'] as const),
  attributes: Type.Object(
    {
      username: Attr,
      displayName: Attr,
      email: Type.Union([Attr, Type.Null()]),
      photo: Type.Optional(
        Type.Union([Attr, Type.Null()], { description: 'The photo attribute (jpegPhoto)' }),
      ),
    },
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
        roles: Type.Array(Role, { minItems: 1, maxItems: ROLES.length, uniqueItems: true }),
      },
      { additionalProperties: false },
    ),
    { maxItems: 100 },
  ),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 120 }),
};
/** The connection settings, less the bind password. */
export const DirectoryConfig = Type.Object(ConfigFields);
export type DirectoryConfig = Static<typeof DirectoryConfig>;

/** The body of PUT /api/directory: bindPassword omitted keeps it, null removes it. */
export const DirectoryInput = Type.Object(
  {
    ...ConfigFields,
    bindPassword: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type DirectoryInput = Static<typeof DirectoryInput>;

// The reply has no bindPassword field: the serializer drops anything undeclared, so it cannot leak.
export const DirectoryView = Type.Object({
  ...ConfigFields,
  configured: Type.Boolean(),
  hasBindPassword: Type.Boolean(),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type DirectoryView = Static<typeof DirectoryView>;

export const DirectoryTestResult = Type.Object({
  ok: Type.Boolean(),
  userCount: Type.Integer(),
  /** Said when the connection works but is unsafe (not encrypted, certificate not verified). */
  warnings: Type.Optional(Type.Array(Type.String())),
});
export type DirectoryTestResult = Static<typeof DirectoryTestResult>;

export const DirectorySyncReport = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  suspended: Type.Integer(),
  unchanged: Type.Integer(),
  errors: Type.Array(Type.String()),
});
export type DirectorySyncReport = Static<typeof DirectorySyncReport>;
