// The built-in PIV layout: FIPS 201-3 §4.1.4's printed zones on a portrait card. Front: the photo
// (1F) upper left, the chip (7F) kept clear beside it, the expiry (19F) in the upper right corner,
// the name (2F), the employee affiliation (8F), the agency (10F), the expiry again (14F), and the
// affiliation colour band (15F: white for employees, green for contractors, blue for foreign
// nationals, red for emergency response officials). Back: the card serial (1B) and the issuer (2B),
// with the serial as a Code 128 barcode. Positions are ours, in millimetres, inside those zones.
import type { LayoutDefinition, ValueSource } from './card-layout.js';

export const PIV_LAYOUT_NAME = 'PIV (FIPS 201-3)';

/** The affiliations the colour band knows (FIPS 201-3 §4.1.4.1, zone 15F). */
export const PIV_AFFILIATION_COLORS: Readonly<Record<string, string>> = {
  Employee: '#FFFFFF',
  Contractor: '#00A651',
  'Foreign National': '#0072BC',
  'Emergency Response': '#ED1C24',
};

const text = (
  name: string,
  x: number,
  y: number,
  width: number,
  height: number,
  value: ValueSource,
  font: 'Helvetica' | 'Helvetica-Bold' | 'Courier',
  size: number,
  align: 'left' | 'center' | 'right' = 'left',
) => ({
  kind: 'text' as const,
  name,
  x,
  y,
  width,
  height,
  value,
  font,
  size,
  color: '#000000',
  align,
  uppercase: false,
});

export const PIV_LAYOUT: LayoutDefinition = {
  orientation: 'portrait',
  front: {
    background: '#FFFFFF',
    elements: [
      { kind: 'photo', name: '1F photo', x: 3, y: 3, width: 19, height: 24 },
      text(
        '19F expiry',
        37.5,
        3,
        14,
        4,
        { from: 'card', field: 'expiry', dateFormat: 'YYYYMMMDD' },
        'Helvetica-Bold',
        5.5,
        'right',
      ),
      text('2F name', 3, 30, 48, 9, { from: 'person', field: 'displayName' }, 'Helvetica-Bold', 10),
      text('8F affiliation', 3, 41, 48, 5, { from: 'property', name: 'affiliation' }, 'Helvetica', 7),
      text('10F agency', 3, 48, 48, 5, { from: 'card', field: 'issuer' }, 'Helvetica-Bold', 7),
      text('14F label', 3, 56, 14, 4, { from: 'fixed', text: 'Expires' }, 'Helvetica', 6),
      text(
        '14F expiry',
        17,
        56,
        34,
        4,
        { from: 'card', field: 'expiry', dateFormat: 'YYYYMMMDD' },
        'Helvetica-Bold',
        6,
      ),
      {
        kind: 'rect',
        name: '15F affiliation band',
        x: 0,
        y: 72,
        width: 53.98,
        height: 9,
        color: '#FFFFFF',
        colorBy: { property: 'affiliation', colors: { ...PIV_AFFILIATION_COLORS } },
      },
    ],
  },
  back: {
    background: '#FFFFFF',
    elements: [
      text('1B card serial', 3, 3, 48, 5, { from: 'card', field: 'serial' }, 'Courier', 7),
      text('2B issuer', 3, 9, 48, 5, { from: 'card', field: 'issuer' }, 'Helvetica', 7),
      text(
        'return notice',
        3,
        58,
        48,
        8,
        { from: 'fixed', text: 'If found, return to the issuer.' },
        'Helvetica',
        6,
        'center',
      ),
      {
        kind: 'barcode',
        name: 'serial barcode',
        x: 5,
        y: 68,
        width: 43.98,
        height: 10,
        symbology: 'code128',
        value: { from: 'card', field: 'serial' },
        color: '#000000',
      },
    ],
  },
};
