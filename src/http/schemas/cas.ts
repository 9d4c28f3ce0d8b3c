// The CA hierarchy (GET /api/cas) and the import of an enterprise issuing CA.
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion, MultilineText, Timestamp } from '../schemas.js';

export const CrlInfo = Type.Object({ number: Type.String(), thisUpdate: Timestamp, nextUpdate: Timestamp });
export type CrlInfo = Static<typeof CrlInfo>;

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
  crl: Type.Union([CrlInfo, Type.Null()]),
});
export type Ca = Static<typeof Ca>;

export const CaList = Type.Object({ items: Type.Array(Ca) });
export type CaList = Static<typeof CaList>;

/** The body of POST /api/cas/import: the chain and key as PEM, or a PKCS#12. */
export const CaImport = Type.Union([
  Type.Object(
    {
      certificateChainPem: MultilineText({ minLength: 1, maxLength: 200_000 }),
      privateKeyPem: MultilineText({ minLength: 1, maxLength: 20_000 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      pkcs12Base64: MultilineText({ minLength: 1, maxLength: 300_000 }), // base64 tools wrap lines
      password: Type.String({ maxLength: 1024 }),
    },
    { additionalProperties: false },
  ),
]);
export type CaImport = Static<typeof CaImport>;
