// Mobile ID (reference 004): the administrator's mobile ID policies (/api/mobile-id-policies), a
// person's order in the user portal (/api/portal/mobile-id) and the operator's view of a person's
// mobile IDs (/api/users/{id}/mobile-ids).
import { Type, type Static } from '@sinclair/typebox';
import { REVOCATION_REASONS } from '../../domain/credential.js';
import {
  CARD_END_ACTIONS,
  MOBILE_ID_NOTIFY,
  MOBILE_ID_STATES,
  QR_DELIVERIES,
} from '../../domain/mobile-id.js';
import { NullableTimestamp, Timestamp, Uuid, literalUnion } from '../schemas.js';

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
    requireCard: Type.Optional(
      Type.Boolean({
        description:
          'Derived credential (NIST SP 800-157): the person proves possession of their active PIV card (its 9A key signs a challenge, PIN verified) before ordering; the mobile ID then follows that card. Default false',
      }),
    ),
    cardEnd: Type.Optional(
      literalUnion(CARD_END_ACTIONS, {
        description:
          "With requireCard: what the card's termination (with no card taking its place) does to the mobile ID: suspend (default) or revoke",
      }),
    ),
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type MobileIdPolicyInput = Static<typeof MobileIdPolicyInput>;

export const MobileIdPolicy = Type.Composite([
  Type.Omit(MobileIdPolicyInput, ['requireCard', 'cardEnd']),
  Type.Object({
    requireCard: Type.Boolean(),
    cardEnd: literalUnion(CARD_END_ACTIONS),
  }),
  Type.Object({ id: Uuid, version: Type.Integer(), createdAt: Timestamp, updatedAt: Timestamp }),
]);
export type MobileIdPolicy = Static<typeof MobileIdPolicy>;

export const MobileIdPolicyList = Type.Object({ items: Type.Array(MobileIdPolicy), total: Type.Integer() });
export type MobileIdPolicyList = Static<typeof MobileIdPolicyList>;

// ---- a person's mobile IDs ---------------------------------------------------------------------

export const MobileIdView = Type.Object({
  id: Uuid,
  userId: Uuid,
  state: literalUnion(MOBILE_ID_STATES, {
    description:
      'awaiting_wallet: the QR code is out; issuing: the phone is being set up; active; failed; cancelled; suspended; revoked; terminated; expired',
  }),
  policy: Type.Object({ id: Uuid, name: Type.String() }),
  delivery: literalUnion(QR_DELIVERIES),
  createdAt: Timestamp,
  linkExpiresAt: Timestamp,
  validUntil: NullableTimestamp,
  properties: Type.Record(Type.String(), Type.String()),
  error: Type.Union([Type.String(), Type.Null()]),
  device: Type.Union([Type.Object({ id: Uuid, serial: Type.String(), state: Type.String() }), Type.Null()]),
  job: Type.Union([
    Type.Object({
      id: Uuid,
      status: Type.String(),
      progress: Type.Integer(),
      step: Type.Union([Type.String(), Type.Null()]),
      pinChangePending: Type.Boolean(),
    }),
    Type.Null(),
  ]),
  certificates: Type.Array(
    Type.Object({
      id: Uuid,
      serial: Type.String(),
      profile: Type.String(),
      slot: Type.Union([Type.String(), Type.Null()]),
      status: Type.String(),
      notAfter: Timestamp,
    }),
  ),
  mail: Type.Union([Type.Object({ id: Uuid, status: Type.String(), recipient: Type.String() }), Type.Null()]),
  derivedFrom: Type.Union(
    [Type.Object({ id: Uuid, serial: Type.String(), state: Type.String() }), Type.Null()],
    { description: 'The PIV card this mobile ID is derived from and follows (policy requireCard)' },
  ),
  cardHold: Type.Union([literalUnion(['card_suspended', 'card_terminated'] as const), Type.Null()], {
    description:
      'Suspended because of its card (card_suspended: the card is suspended; card_terminated: it ended with no card in its place), not by an operator',
  }),
});
export type MobileIdView = Static<typeof MobileIdView>;

export const CardProof = Type.Object(
  {
    challengeId: Uuid,
    agentId: Uuid,
    reader: Type.String({ minLength: 1, maxLength: 200 }),
    pin: Type.String({
      minLength: 4,
      maxLength: 8,
      description: "The card's PIN, verified by the card before it signs (never stored or logged)",
    }),
  },
  {
    additionalProperties: false,
    description:
      'Required when the policy requires the PIV card: the challenge (POST /api/portal/mobile-id/card-challenge) and the reader holding the card; the card signs the challenge with its 9A key',
  },
);

export const OrderMobileId = Type.Object(
  {
    policyId: Type.Optional(Uuid),
    card: Type.Optional(CardProof),
    delivery: Type.Optional(
      literalUnion(QR_DELIVERIES, {
        description:
          'email: e-mail the QR code (the portal is on the phone itself); ignored when the policy e-mails it anyway',
      }),
    ),
  },
  { additionalProperties: false },
);
export type OrderMobileId = Static<typeof OrderMobileId>;

export const MobileIdOrdered = Type.Object({
  mobileId: MobileIdView,
  qr: Type.Union([
    Type.Object({ url: Type.String(), svg: Type.String(), expiresAt: Timestamp }),
    Type.Null(),
  ]),
  sentTo: Type.Union([Type.String(), Type.Null()]),
});
export type MobileIdOrdered = Static<typeof MobileIdOrdered>;

export const MyMobileIds = Type.Object({
  canOrder: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why not, when canOrder is false' }),
  delivery: Type.Union([literalUnion(QR_DELIVERIES), Type.Null()]),
  requiresCard: Type.Boolean({
    description: "The policy derives the mobile ID from the person's PIV card (it signs a challenge first)",
  }),
  cards: Type.Array(Type.Object({ deviceId: Uuid, serial: Type.String() }), {
    description: "With requiresCard: the person's active PIV cards",
  }),
  items: Type.Array(MobileIdView),
});
export type MyMobileIds = Static<typeof MyMobileIds>;

export const MobileIdList = Type.Object({ items: Type.Array(MobileIdView) });
export type MobileIdList = Static<typeof MobileIdList>;

export const RevokeMobileId = Type.Object(
  { reason: Type.Optional(literalUnion(REVOCATION_REASONS)) },
  { additionalProperties: false },
);
export type RevokeMobileId = Static<typeof RevokeMobileId>;

export const CardChallenge = Type.Object({
  challengeId: Uuid,
  expiresAt: Timestamp,
});
export type CardChallenge = Static<typeof CardChallenge>;
