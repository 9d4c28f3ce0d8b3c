// Card layouts (reference 002): what is printed on each side of an ID-1 card (ISO/IEC 7810, the
// CR80 size: 85.60 × 53.98 mm). Elements are placed in millimetres from the top-left corner of the
// side as it is printed (portrait layouts are the card turned a quarter clockwise). Pure: the
// renderer (src/print/) draws what this module describes; the checks here say, per element, why a
// layout cannot be printed.

export const CARD_LONG_MM = 85.6;
export const CARD_SHORT_MM = 53.98;

export const CARD_SIDES = ['front', 'back'] as const;
export type CardSide = (typeof CARD_SIDES)[number];

export const ORIENTATIONS = ['landscape', 'portrait'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];

/** The side's size in millimetres for an orientation. */
export const cardSize = (o: Orientation): { width: number; height: number } =>
  o === 'landscape'
    ? { width: CARD_LONG_MM, height: CARD_SHORT_MM }
    : { width: CARD_SHORT_MM, height: CARD_LONG_MM };

/** The fonts every PDF reader has (the PDF standard 14 we use): no font file is embedded. */
export const LAYOUT_FONTS = [
  'Helvetica',
  'Helvetica-Bold',
  'Times-Roman',
  'Times-Bold',
  'Courier',
  'Courier-Bold',
] as const;
export type LayoutFont = (typeof LAYOUT_FONTS)[number];

export const BARCODE_SYMBOLOGIES = ['code128', 'qr', 'pdf417'] as const;
export type BarcodeSymbology = (typeof BARCODE_SYMBOLOGIES)[number];

/** The person's own fields a layout can print; anything else is one of their properties. */
export const PERSON_FIELDS = ['displayName', 'username', 'email'] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

/** What the card itself contributes: its serial, its dates, who issued it. */
export const CARD_FIELDS = ['serial', 'expiry', 'issued', 'issuer'] as const;
export type CardField = (typeof CARD_FIELDS)[number];

export const DATE_FORMATS = ['YYYYMMMDD', 'YYYY-MM-DD', 'DD MMM YYYY'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** Where a text or a barcode takes its value from. */
export type ValueSource =
  | { from: 'fixed'; text: string }
  | { from: 'person'; field: PersonField }
  | { from: 'property'; name: string }
  | { from: 'card'; field: CardField; dateFormat?: DateFormat };

interface Box {
  /** Unique on its side; error messages and the editor name the element by it. */
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TextElement extends Box {
  kind: 'text';
  value: ValueSource;
  font: LayoutFont;
  /** Points. */
  size: number;
  color: string;
  align: 'left' | 'center' | 'right';
  uppercase: boolean;
}

export interface PhotoElement extends Box {
  kind: 'photo';
}

export interface ImageElement extends Box {
  kind: 'image';
  /** A PNG or JPEG, base64 (a logo, a seal). */
  data: string;
}

export interface BarcodeElement extends Box {
  kind: 'barcode';
  symbology: BarcodeSymbology;
  value: ValueSource;
  color: string;
}

/** A filled rectangle; with colorBy, its colour follows one of the person's properties (FIPS 201 15F). */
export interface RectElement extends Box {
  kind: 'rect';
  color: string;
  colorBy?: { property: string; colors: Record<string, string> };
}

export type LayoutElement = TextElement | PhotoElement | ImageElement | BarcodeElement | RectElement;
export const ELEMENT_KINDS = ['text', 'photo', 'image', 'barcode', 'rect'] as const;

export interface LayoutSide {
  background: string;
  elements: LayoutElement[];
}

export interface LayoutDefinition {
  orientation: Orientation;
  front: LayoutSide;
  back: LayoutSide;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The front's area kept clear for the contact chip: the ISO/IEC 7816-2 contacts (C1 at 10.25 mm
 * from the left edge and 19.23 mm from the top edge of the landscape card) and the module around
 * them, with a margin, since printing over the module damages the ribbon and the contacts. FIPS 201
 * calls it zone 7F.
 */
const CHIP_LANDSCAPE: Rect = { x: 9, y: 17.5, width: 14, height: 13 };

export function chipZone(o: Orientation): Rect {
  if (o === 'landscape') return CHIP_LANDSCAPE;
  // A quarter turn clockwise: the landscape top edge becomes the portrait right edge.
  const c = CHIP_LANDSCAPE;
  return { x: CARD_SHORT_MM - (c.y + c.height), y: c.x, width: c.height, height: c.width };
}

export const overlaps = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

const COLOR = /^#[0-9a-fA-F]{6}$/;
const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** What a layout may name: the properties people have or the directory maps. */
export interface LayoutContext {
  knownProperties: ReadonlySet<string>;
}

/**
 * Every reason the layout cannot be printed, each naming its side and element. Empty when it is
 * fine. The schema bounds the shape; this checks what only the meaning tells.
 */
export function layoutProblems(def: LayoutDefinition, ctx: LayoutContext): string[] {
  const problems: string[] = [];
  const size = cardSize(def.orientation);
  const chip = chipZone(def.orientation);
  const property = (where: string, name: string) => {
    if (!PROPERTY_NAME.test(name)) problems.push(`${where}: "${name}" is not a property name`);
    else if (!ctx.knownProperties.has(name))
      problems.push(`${where}: no person has the property "${name}" and the directory does not map it`);
  };
  const value = (where: string, v: ValueSource) => {
    if (v.from === 'property') property(where, v.name);
    if (v.from === 'fixed' && !v.text.trim()) problems.push(`${where}: the fixed text is empty`);
  };
  for (const side of CARD_SIDES) {
    const s = def[side];
    if (!COLOR.test(s.background)) problems.push(`${side}: the background colour must be #RRGGBB`);
    const names = new Set<string>();
    for (const e of s.elements) {
      const where = `${side} element "${e.name}"`;
      if (names.has(e.name)) problems.push(`${where}: the name is used twice on this side`);
      names.add(e.name);
      if (e.width <= 0 || e.height <= 0) problems.push(`${where}: width and height must be above 0 mm`);
      if (e.x < 0 || e.y < 0 || e.x + e.width > size.width + 1e-9 || e.y + e.height > size.height + 1e-9)
        problems.push(`${where}: it leaves the card (${size.width} × ${size.height} mm ${def.orientation})`);
      if (side === 'front' && overlaps(e, chip))
        problems.push(
          `${where}: it overlaps the chip zone (x ${round(chip.x)}–${round(chip.x + chip.width)} mm, y ${round(chip.y)}–${round(chip.y + chip.height)} mm), which must stay clear`,
        );
      switch (e.kind) {
        case 'text':
          value(where, e.value);
          if (!COLOR.test(e.color)) problems.push(`${where}: the colour must be #RRGGBB`);
          if (e.size < 3 || e.size > 72) problems.push(`${where}: the font size must be 3-72 pt`);
          break;
        case 'barcode':
          value(where, e.value);
          if (!COLOR.test(e.color)) problems.push(`${where}: the colour must be #RRGGBB`);
          break;
        case 'rect':
          if (!COLOR.test(e.color)) problems.push(`${where}: the colour must be #RRGGBB`);
          if (e.colorBy) {
            property(where, e.colorBy.property);
            for (const [k, c] of Object.entries(e.colorBy.colors))
              if (!COLOR.test(c)) problems.push(`${where}: the colour for "${k}" must be #RRGGBB`);
          }
          break;
        case 'image':
          // The editor adds an image before its picture is chosen; it cannot be saved so.
          if (!e.data) problems.push(`${where}: no picture is chosen for the image`);
          break;
        case 'photo':
          break;
      }
    }
  }
  return problems;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Every property the layout reads (to tell the editor which people lack what). */
export function propertiesUsed(def: LayoutDefinition): string[] {
  const out = new Set<string>();
  for (const side of CARD_SIDES)
    for (const e of def[side].elements) {
      if ((e.kind === 'text' || e.kind === 'barcode') && e.value.from === 'property') out.add(e.value.name);
      if (e.kind === 'rect' && e.colorBy) out.add(e.colorBy.property);
    }
  return [...out];
}

/** What a card is printed from. Dates are ISO instants; they print in UTC, the day they name. */
export interface CardData {
  person: {
    displayName: string;
    username: string;
    email: string | null;
    properties: Readonly<Record<string, string>>;
  };
  card: { serial: string; expiresAt: string | null; issuedAt: string | null; issuer: string };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/**
 * A date as printed (FIPS 201 writes the expiry as YYYYMMMDD: 2026DEC06). `iso` is a UTC instant
 * as the store gives it (toISOString): the day printed is its UTC day, whatever the time zone.
 */
export function formatCardDate(iso: string, format: DateFormat): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+Z)?$/.exec(iso);
  if (!m) return '';
  const [, y, mm, day] = m as unknown as [string, string, string, string];
  const month = Number(mm);
  switch (format) {
    case 'YYYYMMMDD':
      return `${y}${MONTHS[month - 1]}${day}`;
    case 'YYYY-MM-DD':
      return `${y}-${mm}-${day}`;
    case 'DD MMM YYYY':
      return `${day} ${MONTHS[month - 1]} ${y}`;
  }
}

/** The text a value source gives for this card ('' when the person lacks it). */
export function resolveValue(v: ValueSource, data: CardData): string {
  switch (v.from) {
    case 'fixed':
      return v.text;
    case 'person':
      return data.person[v.field] ?? '';
    case 'property':
      return data.person.properties[v.name] ?? '';
    case 'card': {
      if (v.field === 'serial') return data.card.serial;
      if (v.field === 'issuer') return data.card.issuer;
      const at = v.field === 'expiry' ? data.card.expiresAt : data.card.issuedAt;
      return at ? formatCardDate(at, v.dateFormat ?? 'YYYYMMMDD') : '';
    }
  }
}

/** The fill of a rectangle for this card. */
export function rectColor(e: RectElement, data: CardData): string {
  if (!e.colorBy) return e.color;
  const v = data.person.properties[e.colorBy.property];
  return (v !== undefined && e.colorBy.colors[v]) || e.color;
}
