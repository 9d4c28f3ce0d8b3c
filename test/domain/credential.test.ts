import { describe, expect, it } from 'vitest';
import {
  CERTIFICATE_HOLD_CODE,
  isRevocationReason,
  revocationReasonCode,
  revocationReasonFromCode,
  REVOCATION_REASONS,
} from '../../src/domain/credential.js';

describe('RFC 5280 §5.3.1 revocation reasons', () => {
  const codes = {
    unspecified: 0,
    keyCompromise: 1,
    caCompromise: 2,
    affiliationChanged: 3,
    superseded: 4,
    cessationOfOperation: 5,
    privilegeWithdrawn: 9,
  };

  it('are exactly the API contract list, with their CRLReason codes', () => {
    expect(REVOCATION_REASONS).toEqual([
      'unspecified',
      'keyCompromise',
      'caCompromise',
      'affiliationChanged',
      'superseded',
      'cessationOfOperation',
      'privilegeWithdrawn',
    ]);
    for (const r of REVOCATION_REASONS) expect(revocationReasonCode(r)).toBe(codes[r]);
  });

  it('maps codes back, and knows no reason for hold (6), removeFromCRL (8) or unknown codes', () => {
    for (const r of REVOCATION_REASONS) expect(revocationReasonFromCode(codes[r])).toBe(r);
    expect(CERTIFICATE_HOLD_CODE).toBe(6);
    for (const code of [6, 7, 8, 10, -1, 99]) expect(revocationReasonFromCode(code)).toBeUndefined();
  });

  it('recognises reasons in untrusted input', () => {
    expect(isRevocationReason('superseded')).toBe(true);
    for (const v of ['certificateHold', 'removeFromCRL', 'toString', '', 4, null]) {
      expect(isRevocationReason(v)).toBe(false);
    }
  });
});
