// The card layer's error tree. Every error is a DomainError (stable `code`, a message fit for a
// person) so services and the HTTP layer treat card failures like any other external failure.
// Messages never carry PINs, PUKs or key material: only status words, counts and names.
import { ExternalError } from '../domain/errors.js';

/** Something between us and the card failed: the reader, pcscd, vpcd, the agent relay. */
export class TransportError extends ExternalError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('card_transport', message, details, options);
  }
}

/** The card left the reader (or the virtual card was withdrawn) while we were talking to it. */
export class CardRemovedError extends ExternalError {
  constructor(reader?: string) {
    super(
      'card_removed',
      reader ? `The card was removed from reader "${reader}"` : 'The card was removed from the reader',
      reader ? { reader } : undefined,
    );
  }
}

/** The card did not answer in time. */
export class CardTimeoutError extends ExternalError {
  constructor(timeoutMs: number) {
    super('card_timeout', `The card did not answer within ${timeoutMs} ms`, { timeoutMs });
  }
}

/** The card answered something that breaks ISO 7816-4 or SP 800-73-4 framing (hostile or broken card). */
export class CardProtocolError extends ExternalError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('card_protocol', message, details);
  }
}

const hex4 = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

/** The card refused a command with a status word other than 9000. */
export class ApduError extends ExternalError {
  constructor(
    readonly sw: number,
    message?: string,
    code = 'card_apdu_error',
  ) {
    super(code, message ?? `The card refused the command (status ${hex4(sw)})`, { sw: hex4(sw) });
  }
}

/** A PIN or PUK was wrong (SW 63Cx); `attemptsRemaining` is x. */
export class InvalidPinError extends ApduError {
  constructor(
    readonly attemptsRemaining: number,
    what: 'PIN' | 'PUK' = 'PIN',
  ) {
    super(
      0x63c0 | attemptsRemaining,
      `Wrong ${what}: ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} left`,
      'card_invalid_pin',
    );
  }
}

/** The PIN (or PUK) is blocked (SW 6983). */
export class PinBlockedError extends ApduError {
  constructor(what: 'PIN' | 'PUK' = 'PIN') {
    super(0x6983, `The ${what} is blocked`, 'card_pin_blocked');
  }
}

/** The command needs a PIN or management-key authentication first (SW 6982). */
export class SecurityStatusNotSatisfied extends ApduError {
  constructor(message = 'The card requires PIN verification or management-key authentication first') {
    super(0x6982, message, 'card_security_status');
  }
}

/** The card does not support the instruction, parameter or algorithm (6D00, 6A81, 6E00…). */
export class NotSupportedError extends ApduError {
  constructor(sw: number, message?: string) {
    super(
      sw,
      message ?? `The card does not support this operation (status ${hex4(sw)})`,
      'card_not_supported',
    );
  }
}

/** The application (PIV) is not present on the card (SELECT answered 6A82). */
export class ApplicationNotAvailableError extends ApduError {
  constructor(sw: number) {
    super(sw, 'The PIV application is not available on this card', 'card_no_application');
  }
}

/** Management-key authentication failed: the card rejected our cryptogram or we rejected the card's. */
export class AuthenticationFailedError extends ExternalError {
  constructor(message = 'Management key authentication failed') {
    super('card_auth_failed', message);
  }
}
