// The FASC-N encoding (TIG SCEPACS §6): the known non-federal value, a round trip, and refusals.
import { describe, expect, it } from 'vitest';
import {
  NON_FEDERAL_FASCN_DEFAULTS,
  credentialNumberFor,
  decodeFascn,
  encodeFascn,
} from '../../src/domain/fascn.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('FASC-N', () => {
  it('encodes 9999/9999/999999 as the well-known non-federal FASC-N', () => {
    expect(hex(encodeFascn({ ...NON_FEDERAL_FASCN_DEFAULTS, credentialNumber: '999999' }))).toBe(
      'd4e739da739ced39ce739d836858210842108421c84210c3eb',
    );
  });
  it('round-trips its fields, and a flipped bit fails parity', () => {
    const f = {
      ...NON_FEDERAL_FASCN_DEFAULTS,
      agencyCode: '0123',
      systemCode: '4567',
      credentialNumber: '890123',
    };
    const e = encodeFascn(f);
    expect(decodeFascn(e)).toEqual(f);
    const bad = Uint8Array.from(e);
    bad[7]! ^= 0x10;
    expect(decodeFascn(bad)).toBeNull();
    expect(decodeFascn(e.subarray(0, 24))).toBeNull();
  });
  it('refuses fields that are not digits of the right width', () => {
    expect(() => encodeFascn({ ...NON_FEDERAL_FASCN_DEFAULTS, credentialNumber: '12345' })).toThrow(
      /credentialNumber/,
    );
    expect(() =>
      encodeFascn({ ...NON_FEDERAL_FASCN_DEFAULTS, agencyCode: '12a4', credentialNumber: '123456' }),
    ).toThrow(/agencyCode/);
  });
  it('takes the credential number from a decimal serial, else folds the device id', () => {
    expect(credentialNumberFor('12345678', 'x')).toBe('345678');
    expect(credentialNumberFor('42', 'x')).toBe('000042');
    const n = credentialNumberFor('SNab12', '6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5');
    expect(n).toMatch(/^\d{6}$/);
    expect(credentialNumberFor('SNab12', '6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5')).toBe(n);
  });
});
