// Card layouts, people's photos and the printing settings (reference 002). The shape of a layout is
// bounded here; what only its meaning tells (the chip zone, unknown properties) is checked by the
// domain (card-layout.ts layoutProblems), which names the element.
import { Type, type Static } from '@sinclair/typebox';
import {
  BARCODE_SYMBOLOGIES,
  CARD_FIELDS,
  CARD_SIDES,
  DATE_FORMATS,
  LAYOUT_FONTS,
  ORIENTATIONS,
  PERSON_FIELDS,
} from '../../domain/card-layout.js';
import { PHOTO_MAX_BYTES } from '../../domain/photo.js';
import { literalUnion, MultilineText, Timestamp, Uuid } from '../schemas.js';

/** Room for one image or photo as base64. */
export const IMAGE_BASE64_MAX = Math.ceil(PHOTO_MAX_BYTES / 3) * 4;
export const LAYOUT_ELEMENTS_MAX = 40;

const Mm = Type.Number({ minimum: -1000, maximum: 1000, description: 'Millimetres' });
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', maxLength: 7, description: '#RRGGBB' });
const Base64 = Type.String({ maxLength: IMAGE_BASE64_MAX, pattern: '^[A-Za-z0-9+/]*={0,2}$' });
const PropertyName = Type.String({ minLength: 1, maxLength: 64 });

const box = {
  name: Type.String({ minLength: 1, maxLength: 64 }),
  x: Mm,
  y: Mm,
  width: Mm,
  height: Mm,
};

export const ValueSource = Type.Union([
  Type.Object(
    { from: Type.Literal('fixed'), text: Type.String({ maxLength: 200 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { from: Type.Literal('person'), field: literalUnion(PERSON_FIELDS) },
    { additionalProperties: false },
  ),
  Type.Object({ from: Type.Literal('property'), name: PropertyName }, { additionalProperties: false }),
  Type.Object(
    {
      from: Type.Literal('card'),
      field: literalUnion(CARD_FIELDS),
      dateFormat: Type.Optional(literalUnion(DATE_FORMATS)),
    },
    { additionalProperties: false },
  ),
]);

export const LayoutElement = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('text'),
      ...box,
      value: ValueSource,
      font: literalUnion(LAYOUT_FONTS),
      size: Type.Number({ minimum: 1, maximum: 200 }),
      color: Color,
      align: literalUnion(['left', 'center', 'right'] as const),
      uppercase: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('photo'), ...box }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('image'), ...box, data: Base64 }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('barcode'),
      ...box,
      symbology: literalUnion(BARCODE_SYMBOLOGIES),
      value: ValueSource,
      color: Color,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('rect'),
      ...box,
      color: Color,
      colorBy: Type.Optional(
        Type.Object(
          {
            property: PropertyName,
            colors: Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Color, { maxProperties: 20 }),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
]);

const LayoutSide = Type.Object(
  { background: Color, elements: Type.Array(LayoutElement, { maxItems: LAYOUT_ELEMENTS_MAX }) },
  { additionalProperties: false },
);

export const LayoutDefinition = Type.Object(
  { orientation: literalUnion(ORIENTATIONS), front: LayoutSide, back: LayoutSide },
  { additionalProperties: false },
);

/** The body of POST /api/layouts and PUT /api/layouts/:id. */
export const LayoutInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: MultilineText({ maxLength: 1000 }),
    definition: LayoutDefinition,
  },
  { additionalProperties: false },
);
export type LayoutInput = Static<typeof LayoutInput>;

export const Layout = Type.Object({
  id: Uuid,
  ...LayoutInput.properties,
  version: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Layout = Static<typeof Layout>;

export const LayoutTemplate = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  definition: LayoutDefinition,
});
export type LayoutTemplate = Static<typeof LayoutTemplate>;

export const PreviewQuery = Type.Object(
  { userId: Type.Optional(Uuid), side: Type.Optional(literalUnion(CARD_SIDES)) },
  { additionalProperties: false },
);
export type PreviewQuery = Static<typeof PreviewQuery>;

/** The editor's live preview of an unsaved layout. */
export const DraftPreview = Type.Object(
  {
    definition: LayoutDefinition,
    userId: Type.Optional(Uuid),
    side: Type.Optional(literalUnion(CARD_SIDES)),
  },
  { additionalProperties: false },
);
export type DraftPreview = Static<typeof DraftPreview>;

export const PhotoUpload = Type.Object(
  { data: Type.String({ minLength: 1, maxLength: IMAGE_BASE64_MAX, pattern: '^[A-Za-z0-9+/]*={0,2}$' }) },
  { additionalProperties: false },
);
export type PhotoUpload = Static<typeof PhotoUpload>;

export const PhotoInfo = Type.Object({
  sha256: Type.String(),
  contentType: literalUnion(['image/jpeg', 'image/png'] as const),
  width: Type.Integer(),
  height: Type.Integer(),
});
export type PhotoInfo = Static<typeof PhotoInfo>;

export const PrintSettings = Type.Object(
  { enabled: Type.Boolean(), issuerName: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
export type PrintSettings = Static<typeof PrintSettings>;

export const PrintStatus = Type.Object({
  ...PrintSettings.properties,
  layoutCount: Type.Integer(),
  available: Type.Boolean({ description: 'Printing is turned on and at least one layout exists' }),
});

/** A card printer of one of the caller's connected agents, with its embedded encoder. */
export const Printer = Type.Object({
  id: Type.String({ description: 'agentId:name' }),
  agentId: Uuid,
  agentName: Type.String(),
  name: Type.String(),
  encoder: Type.Union([Type.String(), Type.Null()], { description: 'The reader inside the printer' }),
  state: literalUnion(['idle', 'processing', 'stopped', 'unreachable'] as const),
  reasons: Type.Array(Type.String()),
  message: Type.String(),
});

/** The printer and encoder an operator configured on a workstation (proposed next time). */
export const PrinterChoice = Type.Object(
  {
    printerId: Type.String({ minLength: 3, maxLength: 200 }),
    encoder: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type PrinterChoice = Static<typeof PrinterChoice>;

export const Printers = Type.Object({
  available: Type.Boolean({ description: 'Printing is turned on and a layout exists' }),
  items: Type.Array(Printer),
  proposed: Type.Union([PrinterChoice, Type.Null()], {
    description:
      'The printer and encoder you configured last on one of your connected workstations, if it is still there',
  }),
});
export type Printers = Static<typeof Printers>;

export const PrintSampleInput = Type.Object(
  {
    printerId: Type.String({ minLength: 3, maxLength: 200 }),
    userId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);
export type PrintSampleInput = Static<typeof PrintSampleInput>;

export const PrintOutcome = Type.Object({
  jobId: Type.Integer(),
  state: literalUnion(['completed', 'aborted', 'canceled', 'stopped'] as const),
  reasons: Type.Array(Type.String()),
  message: Type.String(),
});
