// Command and response APDUs (ISO/IEC 7816-3 §12.1, 7816-4 §5.1): encoding in short and extended
// form, parsing of both (the emulator parses commands, the client parses responses), and the status
// words as the standard names them.
import { CardProtocolError } from './errors.js';

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** Command data (Lc is its length); empty for cases 1 and 2. */
  data?: Uint8Array;
  /** Expected response length Ne: 0 = none; 256 (short) or 65536 (extended) = "as much as available". */
  le?: number;
}

export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

/** Status words (ISO 7816-4 §5.1.3 and SP 800-73-4 Table 6). */
export const SW = {
  OK: 0x9000,
  /** 61xx: xx more bytes available via GET RESPONSE. */
  BYTES_REMAINING: 0x6100,
  /** 63Cx: verification failed, x tries left. */
  VERIFY_FAIL: 0x63c0,
  WARNING_NV_CHANGED: 0x6300,
  MEMORY_FAILURE: 0x6581,
  WRONG_LENGTH: 0x6700,
  /** The last command of a chain was expected. */
  LAST_COMMAND_EXPECTED: 0x6883,
  COMMAND_CHAINING_NOT_SUPPORTED: 0x6884,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  COMMAND_NOT_ALLOWED: 0x6986,
  INCORRECT_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  NOT_ENOUGH_MEMORY: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  REFERENCE_NOT_FOUND: 0x6a88,
  WRONG_P1P2: 0x6b00,
  /** 6Cxx: wrong Le, xx is the exact length to ask for. */
  WRONG_LE: 0x6c00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const;

export const INS_GET_RESPONSE = 0xc0;
/** CLA bit 5 (0x10): command chaining, "more commands of this chain follow" (ISO 7816-4 §5.1.1.1). */
export const CLA_CHAINING = 0x10;

export const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be a byte, got ${v}`);
}

/** True when the command cannot be sent in short form. */
export function needsExtended(cmd: CommandApdu): boolean {
  return (cmd.data?.length ?? 0) > 255 || (cmd.le ?? 0) > 256;
}

/**
 * Encodes a command APDU, short form when it fits, extended form when `extended` is asked for or
 * the data/Le need it (7816-3 §12.1.3). Le 256 (short) / 65536 (extended) encode as 00 / 0000.
 */
export function encodeCommand(cmd: CommandApdu, opts: { extended?: boolean } = {}): Uint8Array {
  checkByte('CLA', cmd.cla);
  checkByte('INS', cmd.ins);
  checkByte('P1', cmd.p1);
  checkByte('P2', cmd.p2);
  const data = cmd.data ?? new Uint8Array(0);
  const le = cmd.le ?? 0;
  if (data.length > 65535) throw new RangeError(`command data of ${data.length} bytes exceeds 65535`);
  if (le < 0 || le > 65536) throw new RangeError(`Le ${le} out of range`);
  const extended = opts.extended === true || needsExtended(cmd);
  // Written into one array of the exact length: ~40 commands per issued card, certificates among
  // them, went through a number[] with the data spread into it (`npm run bench -- agents`).
  const n = data.length;
  const lc = n === 0 ? 0 : extended ? 3 : 1;
  const leBytes = le === 0 ? 0 : !extended ? 1 : n > 0 ? 2 : 3;
  const out = new Uint8Array(4 + lc + n + leBytes);
  out[0] = cmd.cla;
  out[1] = cmd.ins;
  out[2] = cmd.p1;
  out[3] = cmd.p2;
  let at = 4;
  if (n > 0) {
    if (extended) {
      out[at++] = 0;
      out[at++] = n >> 8;
    }
    out[at++] = n & 0xff;
    out.set(data, at);
    at += n;
  }
  if (le > 0) {
    if (!extended) out[at] = le === 256 ? 0 : le;
    else {
      const v = le === 65536 ? 0 : le;
      if (n === 0) out[at++] = 0;
      out[at++] = v >> 8;
      out[at] = v & 0xff;
    }
  }
  return out;
}

/** A command that does not parse: the card answers 6700 (wrong length). */
export class MalformedCommandError extends Error {}

/** Parses a command APDU in any of the seven cases of 7816-3 §12.1.3. */
export function decodeCommand(
  buf: Uint8Array,
): CommandApdu & { data: Uint8Array; le: number; extended: boolean } {
  if (buf.length < 4) throw new MalformedCommandError('APDU shorter than its header');
  const [cla, ins, p1, p2] = [buf[0]!, buf[1]!, buf[2]!, buf[3]!];
  const base = { cla, ins, p1, p2 };
  const empty = new Uint8Array(0);
  if (buf.length === 4) return { ...base, data: empty, le: 0, extended: false };
  const b4 = buf[4]!;
  if (buf.length === 5) return { ...base, data: empty, le: b4 === 0 ? 256 : b4, extended: false };
  if (b4 !== 0) {
    if (buf.length === 5 + b4) return { ...base, data: buf.slice(5), le: 0, extended: false };
    if (buf.length === 6 + b4) {
      const le = buf[5 + b4]!;
      return { ...base, data: buf.slice(5, 5 + b4), le: le === 0 ? 256 : le, extended: false };
    }
    throw new MalformedCommandError('Lc does not match the APDU length');
  }
  // Extended forms start with 00.
  if (buf.length === 7) {
    const le = (buf[5]! << 8) | buf[6]!;
    return { ...base, data: empty, le: le === 0 ? 65536 : le, extended: true };
  }
  const lc = (buf[5]! << 8) | buf[6]!;
  if (lc === 0) throw new MalformedCommandError('Extended Lc of zero');
  if (buf.length === 7 + lc) return { ...base, data: buf.slice(7), le: 0, extended: true };
  if (buf.length === 9 + lc) {
    const le = (buf[7 + lc]! << 8) | buf[8 + lc]!;
    return { ...base, data: buf.slice(7, 7 + lc), le: le === 0 ? 65536 : le, extended: true };
  }
  throw new MalformedCommandError('Extended Lc does not match the APDU length');
}

/** Splits a response APDU into data and SW1SW2. A response shorter than two bytes is a protocol error. */
export function decodeResponse(buf: Uint8Array): ResponseApdu {
  if (buf.length < 2) {
    throw new CardProtocolError(`The card's response has ${buf.length} byte(s), fewer than a status word`);
  }
  const n = buf.length;
  return { data: buf.subarray(0, n - 2), sw: (buf[n - 2]! << 8) | buf[n - 1]! };
}

export function encodeResponse(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}
