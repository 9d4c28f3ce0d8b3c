// Certificates: the search, a certificate as listed and as viewed (decoded), revocation, and the
// recovery of an archived key.
import { Type, type Static } from '@sinclair/typebox';
import { CREDENTIAL_STATUSES, REVOCATION_REASONS } from '../../domain/credential.js';
import { literalUnion, NullableTimestamp, Paging, Timestamp, Uuid } from '../schemas.js';

const Status = literalUnion(CREDENTIAL_STATUSES);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const CertificateSummary = Type.Object({
  id: Type.String(),
  serial: Type.String({ description: 'Hex, lower case' }),
  caId: Type.String(),
  userId: NullableString,
  deviceId: NullableString,
  credentialId: NullableString,
  profile: Type.String(),
  slot: NullableString,
  subject: Type.String(),
  notBefore: Timestamp,
  notAfter: Timestamp,
  status: Status,
  revocationReason: NullableString,
  revokedAt: NullableTimestamp,
});
export type CertificateSummary = Static<typeof CertificateSummary>;

export const CertificateDetail = Type.Composite([
  CertificateSummary,
  Type.Object({
    pem: Type.String(),
    issuer: Type.String(),
    subjectAltNames: Type.Array(Type.String()),
    keyUsage: Type.Array(Type.String()),
    extendedKeyUsage: Type.Array(Type.String()),
    publicKeyAlgorithm: Type.String(),
    signatureAlgorithm: Type.String(),
    crlDistributionPoints: Type.Array(Type.String()),
    ocspUrls: Type.Array(Type.String()),
    caIssuersUrls: Type.Array(Type.String()),
  }),
]);
export type CertificateDetail = Static<typeof CertificateDetail>;

export const CertificateSearch = Type.Object(
  {
    userId: Type.Optional(Uuid),
    deviceId: Type.Optional(Uuid),
    status: Type.Optional(Status),
    serial: Type.Optional(Type.String({ maxLength: 64, pattern: '^[0-9A-Fa-f:]*$' })),
    q: Type.Optional(Type.String({ maxLength: 128 })),
    ...Paging,
  },
  { additionalProperties: false },
);
export type CertificateSearch = Static<typeof CertificateSearch>;

export const RevokeBody = Type.Object(
  { reason: literalUnion(REVOCATION_REASONS) },
  { additionalProperties: false },
);
export type RevokeBody = Static<typeof RevokeBody>;

export const RecoverBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type RecoverBody = Static<typeof RecoverBody>;

export const RecoveredKey = Type.Object({
  pkcs12Base64: Type.String(),
  password: Type.String({ description: 'One-time password protecting the PKCS#12; shown once' }),
});
export type RecoveredKey = Static<typeof RecoveredKey>;
