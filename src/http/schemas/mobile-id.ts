// Mobile ID (reference 004): the administrator's mobile ID policies (/api/mobile-id-policies), a
// person's order in the user portal (/api/portal/mobile-id) and the operator's view of a person's
// mobile IDs (/api/users/{id}/mobile-ids).
import { Type, type Static } from '@sinclair/typebox';
import { MOBILE_ID_NOTIFY, QR_DELIVERIES } from '../../domain/mobile-id.js';
import { Timestamp, Uuid, literalUnion } from '../schemas.js';

const Name = Type.String({ minLength: 1, maxLength: 100 });

export const MobileIdProperty = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    value: Type.String({
      maxLength: 256,
      description:
        'Fixed text and ${username}, ${displayName}, ${email}, ${userId}, ${server}, ${properties.<name>}',
    }),
  },
  { additionalProperties: false },
);

export const MobileIdPolicyInput = Type.Object(
  {
    name: Name,
    description: Type.String({ maxLength: 500 }),
    devicePolicyId: Uuid,
    profiles: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
      minItems: 1,
      maxItems: 4,
      description: "Names of the device policy's credential profiles to issue onto the phone",
    }),
    qrDelivery: literalUnion(QR_DELIVERIES, {
      description: 'portal: the QR code is shown in the user portal; email: it is e-mailed (image and link)',
    }),
    validityDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      description: 'How long a mobile ID lives; its certificates never outlive it',
    }),
    properties: Type.Array(MobileIdProperty, { maxItems: 20 }),
    recoverKey: Type.Boolean({
      description:
        "Restore the person's archived key-management key and certificate into the phone's slot 9D",
    }),
    notify: literalUnion(MOBILE_ID_NOTIFY, {
      description: 'E-mail the person on success, failure, both, or not at all',
    }),
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type MobileIdPolicyInput = Static<typeof MobileIdPolicyInput>;

export const MobileIdPolicy = Type.Composite([
  MobileIdPolicyInput,
  Type.Object({ id: Uuid, version: Type.Integer(), createdAt: Timestamp, updatedAt: Timestamp }),
]);
export type MobileIdPolicy = Static<typeof MobileIdPolicy>;

export const MobileIdPolicyList = Type.Object({ items: Type.Array(MobileIdPolicy), total: Type.Integer() });
export type MobileIdPolicyList = Static<typeof MobileIdPolicyList>;
