// Issuance: the cards in an operator's (or a person's) readers, starting an issuance or a binding,
// the job that personalizes the card, and a device's latest job.
import { Type, type Static } from '@sinclair/typebox';
import { JOB_STATUSES } from '../../domain/issuance-job.js';
import { Device, Uuid, literalUnion } from '../schemas.js';

export const Pin = Type.String({ minLength: 1, maxLength: 16 });

/** Which card: a reader of one of the caller's paired agents. */
export const CardRef = {
  agentId: Uuid,
  reader: Type.String({ minLength: 1, maxLength: 256 }),
};
export const CardBody = Type.Object(CardRef, { additionalProperties: false });
export type CardBody = Static<typeof CardBody>;

export const ISSUANCE_ACTIONS = ['issue', 'bind'] as const;
export type IssuanceAction = (typeof ISSUANCE_ACTIONS)[number];

/** The body of POST /api/issuance. */
export const IssuanceStart = Type.Object(
  {
    userId: Uuid,
    ...CardRef,
    action: literalUnion(ISSUANCE_ACTIONS),
    policyId: Type.Optional(
      Type.String({
        format: 'uuid',
        maxLength: 36,
        description: 'The device policy; required unless requestId is given (the request has its own)',
      }),
    ),
    requestId: Type.Optional(
      Type.String({
        format: 'uuid',
        maxLength: 36,
        description:
          'The replacement request this serves (docs/replacement.md): issue — its local issuance; bind — bind the card for its self-enrollment',
      }),
    ),
    pin: Type.Optional(Pin),
    pinConfirmation: Type.Optional(Pin),
    printerId: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 200,
        description: 'Print the card after encoding it on this printer (the card is in its encoder)',
      }),
    ),
    layoutId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

/** The body of POST /api/portal/issuance: the card, and the replacement request it is for, if any. */
export const MyIssuanceStart = Type.Object(
  {
    ...CardRef,
    requestId: Type.Optional(
      Type.String({
        format: 'uuid',
        maxLength: 36,
        description:
          'My replacement request (self-enrollment) this card serves; found from the card when left out',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MyIssuanceStart = Static<typeof MyIssuanceStart>;
export type IssuanceStart = Static<typeof IssuanceStart>;

export const JobError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  detail: Type.Optional(Type.String()),
  correlationId: Type.String(),
});
export type JobError = Static<typeof JobError>;

export const Job = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  userId: Uuid,
  policyId: Uuid,
  status: literalUnion(JOB_STATUSES),
  progress: Type.Integer(),
  step: Type.String(),
  attempt: Type.Integer(),
  error: Type.Union([JobError, Type.Null()]),
  pinChangePending: Type.Boolean(),
  print: Type.Union([
    Type.Object({
      printerId: Type.String(),
      printerName: Type.String(),
      layoutId: Uuid,
      encoded: Type.Boolean({ description: 'The card is encoded: a retry only prints it again' }),
      printJobId: Type.Union([Type.Integer(), Type.Null()], { description: 'The printer’s job id' }),
    }),
    Type.Null(),
  ]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});
export type Job = Static<typeof Job>;

/** The answer to starting: the device, and the job personalizing it (none for a binding). */
export const IssuanceStarted = Type.Object({ device: Device, job: Type.Union([Job, Type.Null()]) });
export type IssuanceStarted = Static<typeof IssuanceStarted>;

export const CONNECTED_CARD_STATUSES = ['blank', 'bound', 'in_use', 'unreadable', 'empty'] as const;
export type ConnectedCardStatus = (typeof CONNECTED_CARD_STATUSES)[number];

/** A reader of one of the caller's paired agents, and the card in it. */
export const ConnectedCard = Type.Object({
  agentId: Uuid,
  agentName: Type.String(),
  reader: Type.String(),
  cardPresent: Type.Boolean(),
  serial: Type.Union([Type.String(), Type.Null()]),
  cardType: Type.Union([Type.String(), Type.Null()]),
  status: literalUnion(CONNECTED_CARD_STATUSES),
  device: Type.Union([
    Type.Object({
      id: Uuid,
      state: Type.String(),
      userId: Type.Union([Uuid, Type.Null()]),
      type: Type.String(),
    }),
    Type.Null(),
  ]),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type ConnectedCard = Static<typeof ConnectedCard>;

export const ConnectedCards = Type.Object({ items: Type.Array(ConnectedCard) });
export type ConnectedCards = Static<typeof ConnectedCards>;

/** GET /api/portal/issuance/open: my issuance that still needs me, if any. */
export const OpenIssuance = Type.Object({
  device: Type.Union([Device, Type.Null()]),
  job: Type.Union([Job, Type.Null()]),
});
export type OpenIssuance = Static<typeof OpenIssuance>;

/** GET /api/devices/:id/issuance. */
export const DeviceIssuance = Type.Object({
  job: Type.Union([Job, Type.Null()]),
  initialPinAvailable: Type.Boolean(),
});
export type DeviceIssuance = Static<typeof DeviceIssuance>;

/** POST /api/devices/:id/initial-pin: shown once. */
export const InitialPin = Type.Object({ pin: Type.String() });
export type InitialPin = Static<typeof InitialPin>;
