// The device inventory: the search, registering one blank device, and the CSV import's report.
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_STATES, DEVICE_TYPES } from '../../domain/device.js';
import { Device, literalUnion, MultilineText, Paging, Uuid } from '../schemas.js';

export const DeviceSearch = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(literalUnion(DEVICE_STATES)),
    type: Type.Optional(literalUnion(DEVICE_TYPES)),
    userId: Type.Optional(Uuid),
    ...Paging,
  },
  { additionalProperties: false },
);
export type DeviceSearch = Static<typeof DeviceSearch>;

/** A device in the inventory's list, with the name of the person it is assigned to. */
export const DeviceListItem = Type.Composite([
  Device,
  Type.Object({
    holder: Type.Union([Type.Object({ username: Type.String(), displayName: Type.String() }), Type.Null()], {
      description: 'The person the device is assigned to (userId), by name; null when nobody',
    }),
  }),
]);
export type DeviceListItem = Static<typeof DeviceListItem>;

/** The body of POST /api/devices. */
export const NewDevice = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 64 }),
    type: literalUnion(DEVICE_TYPES),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    notes: Type.Optional(MultilineText({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type NewDevice = Static<typeof NewDevice>;

/** The body of POST /api/devices/import. */
export const ImportBody = Type.Object(
  { csv: MultilineText({ minLength: 1, maxLength: 4 * 1024 * 1024 }) },
  { additionalProperties: false },
);
export type ImportBody = Static<typeof ImportBody>;

export const ImportRow = Type.Object({
  line: Type.Integer(),
  serial: Type.Union([Type.String(), Type.Null()]),
  status: literalUnion(['created', 'refused'] as const),
  error: Type.Optional(Type.String()),
});
export type ImportRow = Static<typeof ImportRow>;

export const ImportReport = Type.Object({
  created: Type.Integer(),
  refused: Type.Integer(),
  rows: Type.Array(ImportRow),
});
export type ImportReport = Static<typeof ImportReport>;
