// The file order's one rule beyond vitest's: pcscd files spread out, none lost or repeated.
import { describe, expect, it } from 'vitest';
import { spread } from './sequencer.js';

describe('spread', () => {
  const others = Array.from({ length: 40 }, (_, i) => `o${i}`);

  it('starts with the first pcscd file and puts the others evenly in the first three quarters', () => {
    const out = spread(['p0', 'p1', 'p2'], others);
    expect(out).toHaveLength(43);
    expect(new Set(out).size).toBe(43);
    expect(out.filter((x) => x.startsWith('o'))).toEqual(others); // vitest's order kept
    const at = ['p0', 'p1', 'p2'].map((p) => out.indexOf(p));
    expect(at).toEqual([0, 11, 22]);
  });

  it('keeps the order as it is without pcscd files, and copes with more of them than others', () => {
    expect(spread([], others)).toEqual(others);
    expect(spread(['p0', 'p1', 'p2'], ['o0'])).toEqual(['p0', 'o0', 'p1', 'p2']);
  });
});
