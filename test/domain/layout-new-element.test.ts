// The layout editor's "Add": every kind of element it offers is a complete element of the layout
// model that passes the domain's checks where it is put — on the card, clear of the chip zone and of
// the elements already there — so adding never makes a layout unsavable by itself.
import { describe, expect, it } from 'vitest';
import { layoutProblems, type LayoutDefinition } from '../../src/domain/card-layout.js';
import { PIV_LAYOUT } from '../../src/domain/piv-layout.js';
import { ADDABLE, freeName, newElement } from '../../src/domain/layout-new-element.js';

const known = { knownProperties: new Set(['affiliation']) };
const blank = (orientation: LayoutDefinition['orientation']): LayoutDefinition => ({
  orientation,
  front: { background: '#FFFFFF', elements: [] },
  back: { background: '#FFFFFF', elements: [] },
});

describe('layout editor: adding elements', () => {
  it.each(['landscape', 'portrait'] as const)(
    'adds every kind to both sides of a %s card, each clear of the chip and of the others',
    (orientation) => {
      let def = blank(orientation);
      for (const side of ['front', 'back'] as const)
        for (const a of ADDABLE) {
          const e = newElement(a.id, def, side);
          // An image needs its picture before it can be saved: give it one for the check.
          const added = e.kind === 'image' ? { ...e, data: 'iVBORw0KGgo=' } : e;
          def = { ...def, [side]: { ...def[side], elements: [...def[side].elements, added] } };
        }
      expect(layoutProblems(def, known)).toEqual([]);
      expect(def.front.elements.map((e) => e.kind)).toEqual([
        'text',
        'text',
        'photo',
        'image',
        'barcode',
        'text',
        'text',
        'rect',
      ]);
    },
  );

  it('binds the expiry date and the card serial to the card', () => {
    const def = blank('landscape');
    expect(newElement('expiry', def, 'front')).toMatchObject({
      kind: 'text',
      name: 'Expiry date 1',
      value: { from: 'card', field: 'expiry', dateFormat: 'YYYYMMMDD' },
    });
    expect(newElement('serial', def, 'back')).toMatchObject({ value: { from: 'card', field: 'serial' } });
  });

  it('names an element uniquely on its side', () => {
    expect(freeName('Text', [{ name: 'Text 1' }, { name: 'Text 3' }])).toBe('Text 2');
    expect(newElement('photo', PIV_LAYOUT, 'front').name).toBe('Photo 1');
  });
});
