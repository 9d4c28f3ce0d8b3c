// Turns a PIV status word into the typed error a caller can act on (SP 800-73-4 Part 2 Table 6).
import { SW } from '../apdu.js';
import {
  ApduError,
  InvalidPinError,
  NotSupportedError,
  PinBlockedError,
  SecurityStatusNotSatisfied,
} from '../errors.js';

export function pivError(sw: number, what: 'PIN' | 'PUK' = 'PIN'): ApduError {
  if (sw >> 4 === 0x63c) return new InvalidPinError(sw & 0x0f, what);
  switch (sw) {
    case SW.AUTH_METHOD_BLOCKED:
      return new PinBlockedError(what);
    case SW.SECURITY_STATUS_NOT_SATISFIED:
      return new SecurityStatusNotSatisfied();
    case SW.INS_NOT_SUPPORTED:
    case SW.CLA_NOT_SUPPORTED:
    case SW.FUNCTION_NOT_SUPPORTED:
      return new NotSupportedError(sw);
    default:
      return new ApduError(sw);
  }
}
