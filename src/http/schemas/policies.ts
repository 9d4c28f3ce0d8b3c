// Device policies: credential profiles, the PIN policy, and the policy as it is sent and kept.
import { Type, type Static } from '@sinclair/typebox';
import { CERTIFICATE_PROFILE_NAMES, PIV_SLOTS } from '../../domain/credential-profile.js';
import { DEVICE_TYPES } from '../../domain/device.js';
import { CARD_KEY_ALGORITHMS } from '../../domain/key-algorithm.js';
import { PIN_CHARSETS, PIN_LENGTH_MAX, PIN_RETRIES_MAX, PIN_RETRIES_MIN } from '../../domain/pin-policy.js';
import { literalUnion, MultilineText, Timestamp, Uuid } from '../schemas.js';

export const CredentialProfile = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    slot: literalUnion(PIV_SLOTS),
    keyAlgorithm: literalUnion(CARD_KEY_ALGORITHMS),
    certificateProfile: literalUnion(CERTIFICATE_PROFILE_NAMES),
    validityDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    archiveKey: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type CredentialProfile = Static<typeof CredentialProfile>;

// Lengths from 1 pass the schema so that the policy's own check (domain/pin-policy.ts) can say
// what is wrong with a short one.
export const PinPolicy = Type.Object(
  {
    minLength: Type.Integer({ minimum: 1, maximum: PIN_LENGTH_MAX }),
    maxLength: Type.Integer({ minimum: 1, maximum: PIN_LENGTH_MAX }),
    charset: literalUnion(PIN_CHARSETS),
    noRepeatedDigits: Type.Boolean(),
    noSequences: Type.Boolean(),
    retries: Type.Integer({ minimum: PIN_RETRIES_MIN, maximum: PIN_RETRIES_MAX }),
  },
  { additionalProperties: false },
);
export type PinPolicy = Static<typeof PinPolicy>;

/** The body of POST /api/policies and PUT /api/policies/:id. */
export const PolicyInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: MultilineText({ maxLength: 1000 }),
    deviceTypes: Type.Array(literalUnion(DEVICE_TYPES), {
      minItems: 1,
      maxItems: DEVICE_TYPES.length,
      uniqueItems: true,
    }),
    credentialProfiles: Type.Array(CredentialProfile, { minItems: 1, maxItems: 4 }),
    pinPolicy: PinPolicy,
    pukRetries: Type.Integer({ minimum: 1, maximum: 15 }),
    deviceValidityDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    /** A temporary replacement device's life (1-7 days); 7 when left out of a new policy, unchanged on update. */
    temporaryValidityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 })),
    defaultLayout: Type.Union([Type.String({ maxLength: 100 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type PolicyInput = Static<typeof PolicyInput>;

export const Policy = Type.Object({
  id: Uuid,
  ...PolicyInput.properties,
  temporaryValidityDays: Type.Integer({ minimum: 1, maximum: 7 }),
  version: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Policy = Static<typeof Policy>;
