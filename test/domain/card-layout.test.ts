// Layout rules: the chip zone stays clear, every property a layout prints exists, elements stay on
// the card, and the PIV layout keeps FIPS 201-3's zones.
import { describe, expect, it } from 'vitest';
import {
  cardSize,
  chipZone,
  formatCardDate,
  layoutProblems,
  overlaps,
  propertiesUsed,
  rectColor,
  resolveValue,
  type CardData,
  type LayoutDefinition,
  type RectElement,
  type ValueSource,
} from '../../src/domain/card-layout.js';
import { PIV_LAYOUT } from '../../src/domain/piv-layout.js';

const known = { knownProperties: new Set(['affiliation', 'employeeId']) };
const text = (name: string, x: number, y: number, value: ValueSource) => ({
  kind: 'text' as const,
  name,
  x,
  y,
  width: 20,
  height: 5,
  value,
  font: 'Helvetica' as const,
  size: 8,
  color: '#000000',
  align: 'left' as const,
  uppercase: false,
});
const landscape = (
  front: LayoutDefinition['front']['elements'],
  back: LayoutDefinition['back']['elements'] = [],
): LayoutDefinition => ({
  orientation: 'landscape',
  front: { background: '#FFFFFF', elements: front },
  back: { background: '#FFFFFF', elements: back },
});

const data: CardData = {
  person: {
    displayName: 'Alice Archer',
    username: 'alice',
    email: null,
    properties: { affiliation: 'Contractor' },
  },
  card: { serial: 'S-1', expiresAt: '2027-03-04T23:30:00.000Z', issuedAt: null, issuer: 'Agency' },
};

describe('card layouts', () => {
  it('is ID-1 size in both orientations', () => {
    expect(cardSize('landscape')).toEqual({ width: 85.6, height: 53.98 });
    expect(cardSize('portrait')).toEqual({ width: 53.98, height: 85.6 });
  });

  it('keeps the ISO 7816-2 contact area inside the chip zone, turned with the card', () => {
    const l = chipZone('landscape');
    // Contacts C1..C8 span about 10.25-20.93 mm from the left and 19.23-28.55 mm from the top.
    expect(l.x).toBeLessThanOrEqual(10.25);
    expect(l.x + l.width).toBeGreaterThanOrEqual(20.93);
    expect(l.y).toBeLessThanOrEqual(19.23);
    expect(l.y + l.height).toBeGreaterThanOrEqual(28.55);
    const p = chipZone('portrait');
    expect(p.width).toBe(l.height);
    expect(p.height).toBe(l.width);
    expect(p.y).toBe(l.x);
    expect(p.x + p.width).toBeCloseTo(53.98 - l.y, 6);
  });

  it('refuses an element over the chip zone, naming it; one beside it passes', () => {
    const over = layoutProblems(landscape([text('name', 12, 20, { from: 'fixed', text: 'x' })]), known);
    expect(over).toHaveLength(1);
    expect(over[0]).toMatch(/^front element "name": it overlaps the chip zone/);
    expect(layoutProblems(landscape([text('name', 30, 20, { from: 'fixed', text: 'x' })]), known)).toEqual(
      [],
    );
    // On a portrait card the zone turns with the card, and the message gives it in round figures.
    const portrait = {
      ...landscape([text('photo', 20, 10, { from: 'fixed', text: 'x' })]),
      orientation: 'portrait' as const,
    };
    expect(layoutProblems(portrait, known)).toEqual([
      'front element "photo": it overlaps the chip zone (x 23.48–36.48 mm, y 9–23 mm), which must stay clear',
    ]);
    // The back has no chip.
    expect(
      layoutProblems(landscape([], [text('name', 12, 20, { from: 'fixed', text: 'x' })]), known),
    ).toEqual([]);
  });

  it('refuses a property no person has, naming the element and the property', () => {
    const p = layoutProblems(
      landscape([text('dept', 40, 3, { from: 'property', name: 'department' })]),
      known,
    );
    expect(p).toEqual([
      expect.stringMatching(/^front element "dept": no person has the property "department"/),
    ]);
    const band: RectElement = {
      kind: 'rect',
      name: 'band',
      x: 0,
      y: 45,
      width: 85.6,
      height: 8,
      color: '#FFFFFF',
      colorBy: { property: 'clearance', colors: {} },
    };
    expect(layoutProblems(landscape([band]), known)[0]).toMatch(
      /"band": no person has the property "clearance"/,
    );
  });

  it('refuses elements off the card, duplicate names, bad colours and empty fixed text', () => {
    const p = layoutProblems(
      landscape([
        text('a', 80, 3, { from: 'fixed', text: 'x' }),
        { ...text('b', 40, 3, { from: 'fixed', text: ' ' }), color: 'red' },
        text('b', 40, 40, { from: 'fixed', text: 'y' }),
      ]),
      known,
    );
    expect(p.join('\n')).toMatch(/"a": it leaves the card/);
    expect(p.join('\n')).toMatch(/"b": the fixed text is empty/);
    expect(p.join('\n')).toMatch(/"b": the colour must be #RRGGBB/);
    expect(p.join('\n')).toMatch(/"b": the name is used twice/);
  });

  it('refuses an image whose picture is not chosen, naming it', () => {
    const logo = { kind: 'image' as const, name: 'logo', x: 40, y: 3, width: 10, height: 10, data: '' };
    expect(layoutProblems(landscape([], [logo]), known)).toEqual([
      'back element "logo": no picture is chosen for the image',
    ]);
  });

  it('the PIV layout passes, keeps 7F clear and prints the FIPS 201 zones', () => {
    expect(layoutProblems(PIV_LAYOUT, known)).toEqual([]);
    const chip = chipZone('portrait');
    for (const e of PIV_LAYOUT.front.elements) expect(overlaps(e, chip), e.name).toBe(false);
    const names = [...PIV_LAYOUT.front.elements, ...PIV_LAYOUT.back.elements].map(
      (e) => e.name.split(' ')[0],
    );
    for (const zone of ['1F', '2F', '8F', '10F', '14F', '15F', '19F', '1B', '2B'])
      expect(names).toContain(zone);
    expect(propertiesUsed(PIV_LAYOUT)).toEqual(['affiliation']);
    // Without the affiliation property known, the layout is refused and says which elements need it.
    const p = layoutProblems(PIV_LAYOUT, { knownProperties: new Set() });
    expect(p).toEqual([
      expect.stringContaining('"8F affiliation"'),
      expect.stringContaining('"15F affiliation band"'),
    ]);
  });

  it('prints dates as their UTC day, whatever the time zone', () => {
    expect(formatCardDate('2027-03-04T23:30:00.000Z', 'YYYYMMMDD')).toBe('2027MAR04');
    expect(formatCardDate('2027-03-04T23:30:00.000Z', 'YYYY-MM-DD')).toBe('2027-03-04');
    expect(formatCardDate('2027-12-31T00:00:00.000Z', 'DD MMM YYYY')).toBe('31 DEC 2027');
    expect(formatCardDate('not a date', 'YYYYMMMDD')).toBe('');
  });

  it('resolves values and the affiliation colour from the card data', () => {
    expect(resolveValue({ from: 'person', field: 'displayName' }, data)).toBe('Alice Archer');
    expect(resolveValue({ from: 'property', name: 'affiliation' }, data)).toBe('Contractor');
    expect(resolveValue({ from: 'property', name: 'missing' }, data)).toBe('');
    expect(resolveValue({ from: 'card', field: 'expiry' }, data)).toBe('2027MAR04');
    expect(resolveValue({ from: 'card', field: 'issued' }, data)).toBe('');
    expect(resolveValue({ from: 'card', field: 'issuer' }, data)).toBe('Agency');
    const band = PIV_LAYOUT.front.elements.find((e) => e.kind === 'rect') as RectElement;
    expect(rectColor(band, data)).toBe('#00A651');
    expect(rectColor(band, { ...data, person: { ...data.person, properties: {} } })).toBe('#FFFFFF');
  });
});
