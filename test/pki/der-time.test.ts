// X.509 times (RFC 5280 §4.1.2.5) at the calendar's edges: UTC fields, whatever the process's time
// zone; UTCTime through 2049, GeneralizedTime from 2050; the 1st and the 9th of a month written
// with their zero, 29 February and the last second of a year as they are.
import { describe, expect, it } from 'vitest';
import { encodeTime, TAG } from '../../src/pki/der.js';

const CASES: [iso: string, tag: number, text: string][] = [
  ['2027-03-01T00:00:30.000Z', TAG.UTC_TIME, '270301000030Z'],
  ['2027-03-09T09:09:09.000Z', TAG.UTC_TIME, '270309090909Z'],
  ['2028-02-29T12:34:56.789Z', TAG.UTC_TIME, '280229123456Z'], // seconds only
  ['2026-12-31T23:59:59.000Z', TAG.UTC_TIME, '261231235959Z'],
  ['2027-01-01T00:00:00.000Z', TAG.UTC_TIME, '270101000000Z'],
  ['2049-12-31T23:59:59.000Z', TAG.UTC_TIME, '491231235959Z'],
  ['2050-01-01T00:00:00.000Z', TAG.GENERALIZED_TIME, '20500101000000Z'],
];

describe('X.509 time encoding at the edges', () => {
  for (const [iso, tag, text] of CASES)
    it(`${iso} → ${text}`, () => {
      const der = encodeTime(new Date(iso));
      expect(der[0]).toBe(tag);
      expect(der[1]).toBe(text.length);
      expect(der.subarray(2).toString('latin1')).toBe(text);
    });
});
