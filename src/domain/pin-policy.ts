// The PIN policy of a device policy (DESIGN.md "Domain" → Device policy) and the checker the portals
// run while a PIN is typed (reference 001: "The PIN limitations … are displayed when you click on the
// info button as well as dynamically as you enter the PIN"). Pure: the web app imports this file.

import { DEVICE_TYPES, isPivDevice, type DeviceType } from './device.js';
import { fail, ok, ValidationError, type Result } from './errors.js';

export const PIN_CHARSETS = ['digits', 'alphanumeric'] as const;
export type PinCharset = (typeof PIN_CHARSETS)[number];

export interface PinPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  readonly charset: PinCharset;
  /** Refuse a character repeated REPEAT_RUN or more times in a row (letters too, despite the name). */
  readonly noRepeatedDigits: boolean;
  /** Refuse SEQUENCE_RUN or more consecutive ascending or descending digits or letters. */
  readonly noSequences: boolean;
  /** Wrong PINs before the device blocks the PIN. */
  readonly retries: number;
}

/** Bounds any PIN policy must respect (the API contract's ranges). */
export const PIN_LENGTH_MIN = 4;
export const PIN_LENGTH_MAX = 16;
/** SP 800-73-4 §2.4.3: the PIV Card Application PIN is at most 8 bytes (padded with 0xFF). */
export const PIV_MAX_PIN_LENGTH = 8;
export const PIN_RETRIES_MIN = 1;
export const PIN_RETRIES_MAX = 15;

/** A run this long of one character ("111", "aAa") is a repetition. */
export const REPEAT_RUN = 3;
/** A run this long of consecutive characters ("123", "321", "abc", "CBA") is a sequence. */
export const SEQUENCE_RUN = 3;

export const PIN_RULES = ['min_length', 'max_length', 'charset', 'repeated', 'sequence'] as const;
export type PinRule = (typeof PIN_RULES)[number];

export interface PinProblem {
  readonly rule: PinRule;
  readonly message: string;
}

export const DEFAULT_PIN_POLICY: PinPolicy = {
  minLength: 6,
  maxLength: 8,
  charset: 'digits',
  noRepeatedDigits: true,
  noSequences: true,
  retries: 3,
};

const isWhole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);

/**
 * Checks a policy an administrator saves. PIV devices cap the PIN at PIV_MAX_PIN_LENGTH bytes, so
 * unless the policy applies only to mobile devices (give its `deviceTypes`), the maximum is 8.
 * Every problem is reported, in details.problems.
 */
export function validatePinPolicy(
  p: PinPolicy,
  deviceTypes: readonly DeviceType[] = DEVICE_TYPES,
): Result<PinPolicy, ValidationError> {
  const problems: { field: keyof PinPolicy; message: string }[] = [];
  const pivCap = deviceTypes.some(isPivDevice);
  for (const field of ['minLength', 'maxLength'] as const) {
    const v = p[field];
    if (!isWhole(v) || v < PIN_LENGTH_MIN || v > PIN_LENGTH_MAX) {
      problems.push({
        field,
        message: `${field} must be a whole number from ${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX}`,
      });
    }
  }
  if (isWhole(p.minLength) && isWhole(p.maxLength) && p.minLength > p.maxLength) {
    problems.push({ field: 'minLength', message: 'minLength must not exceed maxLength' });
  }
  if (pivCap && isWhole(p.maxLength) && p.maxLength > PIV_MAX_PIN_LENGTH && p.maxLength <= PIN_LENGTH_MAX) {
    problems.push({
      field: 'maxLength',
      message: `PIV cards and tokens hold PINs of at most ${PIV_MAX_PIN_LENGTH} characters: maxLength must be ${PIV_MAX_PIN_LENGTH} or less`,
    });
  }
  if (!(PIN_CHARSETS as readonly unknown[]).includes(p.charset)) {
    problems.push({ field: 'charset', message: `charset must be one of: ${PIN_CHARSETS.join(', ')}` });
  }
  for (const field of ['noRepeatedDigits', 'noSequences'] as const) {
    if (typeof p[field] !== 'boolean') problems.push({ field, message: `${field} must be true or false` });
  }
  if (!isWhole(p.retries) || p.retries < PIN_RETRIES_MIN || p.retries > PIN_RETRIES_MAX) {
    problems.push({
      field: 'retries',
      message: `retries must be a whole number from ${PIN_RETRIES_MIN} to ${PIN_RETRIES_MAX}`,
    });
  }
  if (problems.length) {
    return fail(new ValidationError(problems.map((x) => x.message).join('; '), { problems }));
  }
  return ok(p);
}

const DIGITS = /^[0-9]*$/;
const ALPHANUMERIC = /^[0-9A-Za-z]*$/;

function charClass(c: string): 'digit' | 'letter' | null {
  if (c >= '0' && c <= '9') return 'digit';
  if (c >= 'a' && c <= 'z') return 'letter';
  return null;
}

/** Case-insensitive: "aAa" repeats. */
function hasRepeatRun(chars: readonly string[]): boolean {
  let run = 1;
  for (let i = 1; i < chars.length; i++) {
    run = chars[i]!.toLowerCase() === chars[i - 1]!.toLowerCase() ? run + 1 : 1;
    if (run >= REPEAT_RUN) return true;
  }
  return false;
}

/**
 * Case-insensitive, within digits or within letters, without wrapping: "123", "987", "abc", "xYz"
 * are sequences; "890", "9ab", "135" are not.
 */
function hasSequenceRun(chars: readonly string[]): boolean {
  const lower = chars.map((c) => c.toLowerCase());
  let run = 1;
  let step = 0;
  for (let i = 1; i < lower.length; i++) {
    const a = lower[i - 1]!;
    const b = lower[i]!;
    const cls = charClass(a);
    const d = b.codePointAt(0)! - a.codePointAt(0)!;
    if (cls !== null && cls === charClass(b) && (d === 1 || d === -1)) {
      run = d === step ? run + 1 : 2;
      step = d;
    } else {
      run = 1;
      step = 0;
    }
    if (run >= SEQUENCE_RUN) return true;
  }
  return false;
}

const unitOf = (policy: PinPolicy) => (policy.charset === 'digits' ? 'digits' : 'characters');

/**
 * Every rule of `policy` that `pin` does not meet, in PIN_RULES order, each once; an empty array
 * means the PIN is acceptable. Length counts characters (code points). Messages are plain English,
 * meant to be listed under the PIN field while it is typed. The PIN itself never appears in them.
 */
export function checkPin(pin: string, policy: PinPolicy): PinProblem[] {
  const chars = Array.from(pin);
  const unit = unitOf(policy);
  const problems: PinProblem[] = [];
  if (chars.length < policy.minLength) {
    problems.push({ rule: 'min_length', message: `At least ${policy.minLength} ${unit}` });
  }
  if (chars.length > policy.maxLength) {
    problems.push({ rule: 'max_length', message: `At most ${policy.maxLength} ${unit}` });
  }
  if (policy.charset === 'digits' ? !DIGITS.test(pin) : !ALPHANUMERIC.test(pin)) {
    problems.push({
      rule: 'charset',
      message: policy.charset === 'digits' ? 'Digits only' : 'Letters (A–Z, a–z) and digits only',
    });
  }
  if (policy.noRepeatedDigits && hasRepeatRun(chars)) {
    problems.push({ rule: 'repeated', message: 'No character three times in a row (like 111)' });
  }
  if (policy.noSequences && hasSequenceRun(chars)) {
    problems.push({ rule: 'sequence', message: 'No three characters in sequence (like 123, 321 or abc)' });
  }
  return problems;
}

/**
 * The two pattern rules as the checker applies them (REPEAT_RUN and SEQUENCE_RUN are 3), in one
 * wording for the list behind the PIN field's info button and the policy editor's checkboxes.
 */
export const PIN_PATTERN_RULES = {
  repeated: 'No character three or more times in a row, like 111 or aaa (1122 and 229900 are fine)',
  sequence: 'No three or more characters in ascending or descending sequence, like 123, 321 or abc',
} as const;

/** The rules of `policy` in plain English: the list behind the PIN field's info button. */
export function describePinPolicy(policy: PinPolicy): string[] {
  const unit = unitOf(policy);
  const lines = [
    policy.minLength === policy.maxLength
      ? `Exactly ${policy.minLength} ${unit}`
      : `${policy.minLength} to ${policy.maxLength} ${unit}`,
    policy.charset === 'digits'
      ? 'Digits only (0–9)'
      : 'Letters (A–Z, a–z) and digits only; upper and lower case are different',
  ];
  if (policy.noRepeatedDigits) lines.push(PIN_PATTERN_RULES.repeated);
  if (policy.noSequences) lines.push(PIN_PATTERN_RULES.sequence);
  lines.push(
    `The PIN is blocked after ${policy.retries} wrong ${policy.retries === 1 ? 'attempt' : 'attempts'} in a row`,
  );
  return lines;
}

// Initial PINs may be read off a screen or a letter: leave out characters easily confused (0/O/o,
// 1/l/I). Digits-only policies keep all ten digits.
const GENERATED_DIGITS = '0123456789';
const GENERATED_ALPHANUMERIC = '23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * A PIN of policy.minLength characters that satisfies `policy`. Each character is drawn with
 * `randomInt(n)` (an integer in [0, n), e.g. crypto.randomInt) among those that keep the prefix free
 * of repetitions and sequences, so the result never needs a second try.
 */
export function generatePin(policy: PinPolicy, randomInt: (maxExclusive: number) => number): string {
  const length = policy.minLength;
  if (!isWhole(length) || length < 1 || !isWhole(policy.maxLength) || length > policy.maxLength) {
    throw new RangeError('generatePin needs a policy with 1 ≤ minLength ≤ maxLength');
  }
  const alphabet = Array.from(policy.charset === 'digits' ? GENERATED_DIGITS : GENERATED_ALPHANUMERIC);
  const chars: string[] = [];
  while (chars.length < length) {
    const candidates = alphabet.filter((c) => {
      const next = [...chars, c];
      return (
        !(policy.noRepeatedDigits && hasRepeatRun(next)) && !(policy.noSequences && hasSequenceRun(next))
      );
    });
    const i = randomInt(candidates.length);
    if (!isWhole(i) || i < 0 || i >= candidates.length) {
      throw new RangeError(
        `randomInt(${candidates.length}) returned ${i}, outside [0, ${candidates.length})`,
      );
    }
    chars.push(candidates[i]!);
  }
  return chars.join('');
}
