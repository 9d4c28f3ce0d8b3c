// Replacement requests (reference 003), their queues and history, and why a device is on hold;
// device suspension. The user portal's incident and its list of the person's requests.
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_STATES } from '../../domain/device.js';
import { REPLACEMENT_REASONS, REPLACEMENT_TYPES } from '../../domain/replacement.js';
import { REQUEST_KINDS, REQUEST_STATES, REQUEST_WAITS, REQUEST_WORKFLOWS } from '../../domain/request.js';
import { CREDENTIAL_STATUSES } from '../../domain/credential.js';
import { literalUnion, MultilineText, NullableTimestamp, Paging, Timestamp, Uuid } from '../schemas.js';

const Note = MultilineText({ maxLength: 1000, description: 'Why, in a few words (kept in the history)' });
const Version = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description: 'The version you decided on; a request changed since is refused (409)',
});

/** POST /api/devices/{id}/replacement. */
export const ReplacementBody = Type.Object(
  {
    reason: literalUnion(REPLACEMENT_REASONS),
    workflow: literalUnion(REQUEST_WORKFLOWS),
    replacementDeviceId: Type.Optional(Uuid),
    policyId: Type.Optional(Uuid),
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);
export type ReplacementBody = Static<typeof ReplacementBody>;

/** POST /api/portal/devices/{id}/incident. */
export const IncidentBody = Type.Object(
  {
    reason: literalUnion(REPLACEMENT_REASONS),
    workflow: Type.Optional(literalUnion(['local_issuance', 'self_enrollment'] as const)),
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);
export type IncidentBody = Static<typeof IncidentBody>;

/** POST /api/requests/{id}/approve|reject|cancel. */
export const DecisionBody = Type.Object(
  { version: Type.Optional(Version), note: Type.Optional(Note) },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;

/** POST /api/requests/{id}/bind. */
export const BindBody = Type.Object(
  { deviceId: Uuid, version: Type.Optional(Version) },
  { additionalProperties: false },
);
export type BindBody = Static<typeof BindBody>;

/** POST /api/devices/{id}/suspend. */
export const SuspendBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export type SuspendBody = Static<typeof SuspendBody>;

export const RequestSearch = Type.Object(
  {
    state: Type.Optional(literalUnion(REQUEST_STATES)),
    kind: Type.Optional(literalUnion(REQUEST_KINDS)),
    userId: Type.Optional(Uuid),
    ...Paging,
  },
  { additionalProperties: false },
);
export type RequestSearch = Static<typeof RequestSearch>;

const NullableUuid = Type.Union([Uuid, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const Request = Type.Object({
  id: Uuid,
  number: Type.Integer(),
  version: Type.Integer(),
  kind: literalUnion(REQUEST_KINDS),
  reason: Type.Union([literalUnion(REPLACEMENT_REASONS), Type.Null()]),
  type: Type.Union([literalUnion(REPLACEMENT_TYPES), Type.Null()]),
  workflow: literalUnion(REQUEST_WORKFLOWS),
  state: literalUnion(REQUEST_STATES),
  waitingFor: Type.Union([literalUnion(REQUEST_WAITS), Type.Null()], {
    description:
      'Who acts next: approval (validation officer), binding or issuance (issuance officer), self_enrollment (the person, portal), phone_enrolment (remote issuance: the person on their phone), temporary_end (the temporary device is in use until terminated or expired), activation (the replacement card was printed and held back at the print step: activating it completes the request); null once final',
  }),
  userId: Uuid,
  person: Type.Union([
    Type.Object({ id: Uuid, username: Type.String(), displayName: Type.String() }),
    Type.Null(),
  ]),
  targetDeviceId: NullableUuid,
  targetSerial: NullableString,
  replacementDeviceId: NullableUuid,
  replacementSerial: NullableString,
  policyId: NullableUuid,
  overRequestId: NullableUuid,
  names: Type.Record(Type.String(), NullableString),
  note: Type.String(),
  decisionNote: Type.String(),
  dueAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Request = Static<typeof Request>;

export const RequestStep = Type.Object({
  at: Timestamp,
  action: Type.String(),
  actorName: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type RequestStep = Static<typeof RequestStep>;

export const RequestDetail = Type.Composite([
  Request,
  Type.Object({ history: Type.Array(RequestStep), heldCredentialIds: Type.Array(Uuid) }),
]);
export type RequestDetail = Static<typeof RequestDetail>;

export const Termination = Type.Object({
  device: Type.Object({ id: Uuid, serial: Type.String(), state: literalUnion(DEVICE_STATES) }),
  request: Type.Union([Request, Type.Null()]),
});
export type Termination = Static<typeof Termination>;

export const DeviceHolds = Type.Object({
  deviceId: Uuid,
  state: literalUnion(DEVICE_STATES),
  suspension: Type.Union([
    Type.Object({ since: Timestamp, by: NullableString, note: Type.String() }),
    Type.Null(),
  ]),
  requests: Type.Array(
    Type.Object({
      id: Uuid,
      number: Type.Integer(),
      state: literalUnion(REQUEST_STATES),
      reason: NullableString,
      role: literalUnion(['original', 'replacement'] as const),
    }),
  ),
  credentials: Type.Array(
    Type.Object({
      id: Uuid,
      slot: Type.String(),
      status: literalUnion(CREDENTIAL_STATUSES),
      holds: Type.Array(
        Type.Object({
          requestId: NullableUuid,
          requestNumber: Type.Union([Type.Integer(), Type.Null()]),
          deviceSuspension: Type.Boolean(),
        }),
      ),
    }),
  ),
});
export type DeviceHolds = Static<typeof DeviceHolds>;
