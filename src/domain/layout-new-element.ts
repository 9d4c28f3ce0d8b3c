// What the layout editor (web) adds when the operator picks a kind of element: a complete element of the
// layout model (domain/card-layout.ts), named uniquely on its side and placed where it is valid — on
// the card and clear of the chip zone — so adding never makes a layout unsavable by itself.
import {
  cardSize,
  chipZone,
  overlaps,
  type CardSide,
  type LayoutDefinition,
  type LayoutElement,
  type Orientation,
} from './card-layout.js';

/** What the "Add" menu offers: every kind of the model, and the card fields people ask for by name. */
export const ADDABLE = [
  { id: 'text-person', label: 'Text: a person’s field or property' },
  { id: 'text-fixed', label: 'Text: fixed' },
  { id: 'photo', label: 'Photo of the person' },
  { id: 'image', label: 'Image (logo)' },
  { id: 'barcode', label: 'Barcode (Code 128, QR, PDF417)' },
  { id: 'expiry', label: 'Expiry date' },
  { id: 'serial', label: 'Card serial' },
  { id: 'rect', label: 'Coloured rectangle' },
] as const;
export type Addable = (typeof ADDABLE)[number]['id'];

const BASE_NAME: Record<Addable, string> = {
  'text-person': 'Text',
  'text-fixed': 'Fixed text',
  photo: 'Photo',
  image: 'Image',
  barcode: 'Barcode',
  expiry: 'Expiry date',
  serial: 'Card serial',
  rect: 'Rectangle',
};

const SIZE: Record<Addable, { width: number; height: number }> = {
  'text-person': { width: 40, height: 6 },
  'text-fixed': { width: 40, height: 6 },
  photo: { width: 20, height: 25 },
  image: { width: 15, height: 15 },
  barcode: { width: 30, height: 10 },
  expiry: { width: 25, height: 5 },
  serial: { width: 25, height: 5 },
  rect: { width: 20, height: 4 },
};

/** A name not yet used on the side: "Text 1", "Text 2", … */
export function freeName(base: string, taken: readonly { name: string }[]): string {
  const names = new Set(taken.map((e) => e.name));
  for (let n = 1; ; n++) if (!names.has(`${base} ${n}`)) return `${base} ${n}`;
}

/**
 * The first spot, scanning the side in 2 mm steps from the top left, where a box of this size stays
 * on the card, clear of the chip zone (front) and of the other elements; the top-left corner when
 * the side is full (the checks then say what to move).
 */
function freeSpot(
  o: Orientation,
  side: CardSide,
  size: { width: number; height: number },
  others: readonly LayoutElement[],
): { x: number; y: number } {
  const card = cardSize(o);
  const blocked = side === 'front' ? [chipZone(o), ...others] : [...others];
  for (let y = 2; y + size.height <= card.height - 2; y += 2)
    for (let x = 2; x + size.width <= card.width - 2; x += 2)
      if (!blocked.some((b) => overlaps({ x, y, ...size }, b))) return { x, y };
  return { x: 2, y: 2 };
}

export function newElement(kind: Addable, def: LayoutDefinition, side: CardSide): LayoutElement {
  const size = SIZE[kind];
  const box = {
    name: freeName(BASE_NAME[kind], def[side].elements),
    ...freeSpot(def.orientation, side, size, def[side].elements),
    ...size,
  };
  const text = { font: 'Helvetica', size: 8, color: '#000000', align: 'left', uppercase: false } as const;
  switch (kind) {
    case 'text-person':
      return { kind: 'text', ...box, ...text, value: { from: 'person', field: 'displayName' } };
    case 'text-fixed':
      return { kind: 'text', ...box, ...text, value: { from: 'fixed', text: 'Text' } };
    case 'expiry':
      return {
        kind: 'text',
        ...box,
        ...text,
        value: { from: 'card', field: 'expiry', dateFormat: 'YYYYMMMDD' },
      };
    case 'serial':
      return { kind: 'text', ...box, ...text, value: { from: 'card', field: 'serial' } };
    case 'photo':
      return { kind: 'photo', ...box };
    case 'image':
      return { kind: 'image', ...box, data: '' };
    case 'barcode':
      return {
        kind: 'barcode',
        ...box,
        symbology: 'code128',
        value: { from: 'card', field: 'serial' },
        color: '#000000',
      };
    case 'rect':
      return { kind: 'rect', ...box, color: '#1F4E9A' };
  }
}
