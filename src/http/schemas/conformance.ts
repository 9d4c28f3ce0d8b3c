// A device's PIV conformance report: what its card holds, read back through the PIV client, and
// whether each object is present and correctly signed (services/piv-conformance.ts).
import { Type, type Static } from '@sinclair/typebox';
import { literalUnion } from '../schemas.js';
import { CardRef } from './issuance.js';

export const ConformanceItem = Type.Object({
  id: Type.String({ description: 'Stable id: object name, slot:9a, retired:82 …' }),
  label: Type.String(),
  present: Type.Boolean(),
  signed: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'Whether the signature holds; null for an object that is not a signed one',
  }),
  status: literalUnion(['pass', 'fail', 'warn', 'info'] as const),
  details: Type.Array(Type.String(), { description: 'What was found, and what to do when it fails' }),
});

export const ConformanceReport = Type.Object({
  checkedAt: Type.String({ format: 'date-time' }),
  ok: Type.Boolean({ description: 'Every item passes (warnings allowed)' }),
  items: Type.Array(ConformanceItem),
});
export type ConformanceReport = Static<typeof ConformanceReport>;

export const DeviceConformance = Type.Object({
  deviceId: Type.String({ format: 'uuid' }),
  report: Type.Union([ConformanceReport, Type.Null()], {
    description: 'The last check, or null when the card was never checked (issued before the check existed)',
  }),
});
export type DeviceConformance = Static<typeof DeviceConformance>;

/** The body of POST /api/devices/{id}/conformance: the reader that holds the device's card. */
export const ConformanceCheck = Type.Object(CardRef, { additionalProperties: false });
export type ConformanceCheck = Static<typeof ConformanceCheck>;
