// The CHUID's expiration (SP 800-73-4 Part 1 §3.1.2: YYYYMMDD) is the UTC calendar date of the
// instant given, whatever the process's time zone: at 31 December 23:59:59 UTC it is still
// 31 December, although in Kiritimati (UTC+14) it is already 1 January. Round trip through the
// TLV encoding a card stores.
import { describe, expect, it } from 'vitest';
import { decodeChuid, encodeChuid, newChuid } from '../../src/cards/piv/objects.js';

const CASES: [iso: string, date: string][] = [
  ['2027-03-01T00:00:00.000Z', '20270301'],
  ['2027-03-09T23:59:59.999Z', '20270309'],
  ['2028-02-29T00:00:00.000Z', '20280229'],
  ['2026-12-31T23:59:59.999Z', '20261231'],
  ['2027-01-01T00:00:00.000Z', '20270101'],
];

describe('CHUID expiration date', () => {
  for (const [iso, date] of CASES)
    it(`${iso} → ${date}`, () => {
      const chuid = newChuid(new Date(iso));
      expect(chuid.expiration).toBe(date);
      expect(decodeChuid(encodeChuid(chuid)).expiration).toBe(date);
    });
});
