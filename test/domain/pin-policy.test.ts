import { describe, expect, it } from 'vitest';
import {
  checkPin,
  DEFAULT_PIN_POLICY,
  describePinPolicy,
  generatePin,
  PIN_PATTERN_RULES,
  PIV_MAX_PIN_LENGTH,
  validatePinPolicy,
  type PinPolicy,
  type PinRule,
} from '../../src/domain/pin-policy.js';

const digits6to8: PinPolicy = {
  minLength: 6,
  maxLength: 8,
  charset: 'digits',
  noRepeatedDigits: true,
  noSequences: true,
  retries: 3,
};
const alnum: PinPolicy = { ...digits6to8, charset: 'alphanumeric' };
const lax: PinPolicy = { ...digits6to8, minLength: 4, noRepeatedDigits: false, noSequences: false };

const rules = (pin: string, policy: PinPolicy): PinRule[] => checkPin(pin, policy).map((p) => p.rule);

describe('checkPin, one rule at a time', () => {
  it.each([
    ['', ['min_length']],
    ['3', ['min_length']],
    ['35', ['min_length']],
    ['358', ['min_length']],
    ['3579', []],
    ['35792', []],
    ['357924', []],
    ['35792468', []],
    ['357924683', ['max_length']],
    ['3579246835792468', ['max_length']],
  ] as const)('length of %j (4..8, lax)', (pin, want) => {
    expect(rules(pin, lax)).toEqual(want);
  });

  it.each([
    ['35792a', ['charset']],
    ['3579 2', ['charset']],
    ['35792-', ['charset']],
    ['٣٥٧٩٢٤', ['charset']], // Arabic-Indic digits are not ASCII digits
    ['３５７９２４', ['charset']], // nor are full-width ones
    ['357924', []],
  ] as const)('digits-only charset: %j', (pin, want) => {
    expect(rules(pin, digits6to8)).toEqual(want);
  });

  it.each([
    ['a7Kx9Q', []],
    ['357924', []],
    ['a7Kx9é', ['charset']],
    ['a7K x9', ['charset']],
    ['a7Kx9!', ['charset']],
    ['a7Kx9_', ['charset']],
  ] as const)('alphanumeric charset: %j', (pin, want) => {
    expect(rules(pin, alnum)).toEqual(want);
  });

  it.each([
    ['111111', true],
    ['111358', true],
    ['358111', true],
    ['351118', true],
    ['3551188', false], // pairs are allowed
    ['353535', false], // alternation is not repetition
    ['113355', false],
    ['a7aaa9', true],
    ['a7aAa9', true], // case-insensitive
    ['a7aA9b', false],
  ] as const)('repeated characters: %j → %s', (pin, refused) => {
    const policy = /[a-z]/i.test(pin) ? alnum : digits6to8;
    expect(rules(pin, { ...policy, noSequences: false })).toEqual(refused ? ['repeated'] : []);
    // The rule is off when the policy allows repetition.
    expect(rules(pin, { ...policy, noSequences: false, noRepeatedDigits: false })).toEqual([]);
  });

  it.each([
    ['123957', true],
    ['957123', true],
    ['951237', true],
    ['321957', true],
    ['957321', true],
    ['012957', true],
    ['987531', true],
    ['890246', false], // no wrap-around 9 → 0
    ['902468', false],
    ['121357', false], // up then down is not a run
    ['135792', false], // steps of 2
    ['124875', false],
    ['abc957', true],
    ['x9CbA2', true], // descending letters, case-insensitive
    ['xYz357', true],
    ['yza357', false], // no wrap z → a
    ['89ab35', false], // digits and letters do not chain
    ['9a8b7c', false],
  ] as const)('sequences: %j → %s', (pin, refused) => {
    const policy = /[a-z]/i.test(pin) ? alnum : digits6to8;
    expect(rules(pin, { ...policy, noRepeatedDigits: false })).toEqual(refused ? ['sequence'] : []);
    expect(rules(pin, { ...policy, noRepeatedDigits: false, noSequences: false })).toEqual([]);
  });
});

describe('checkPin reports every unmet rule', () => {
  it.each([
    ['1', digits6to8, ['min_length']],
    ['1a', digits6to8, ['min_length', 'charset']],
    ['111', digits6to8, ['min_length', 'repeated']],
    ['123', digits6to8, ['min_length', 'sequence']],
    ['1112345', digits6to8, ['repeated', 'sequence']],
    ['11123x', digits6to8, ['charset', 'repeated', 'sequence']],
    ['x1112345', digits6to8, ['charset', 'repeated', 'sequence']],
    ['x11123456', digits6to8, ['max_length', 'charset', 'repeated', 'sequence']],
    ['aaa!bc', alnum, ['charset', 'repeated']],
    ['aaab!', alnum, ['min_length', 'charset', 'repeated']],
  ] as const)('%j', (pin, policy, want) => {
    expect(rules(pin, policy)).toEqual(want);
  });

  it('each rule at most once, with a plain-English message that never contains the PIN', () => {
    const pin = 'x111222333444123';
    const problems = checkPin(pin, digits6to8);
    expect(problems.map((p) => p.rule)).toEqual(['max_length', 'charset', 'repeated', 'sequence']);
    for (const p of problems) {
      expect(p.message).toMatch(/^[A-Z]/);
      expect(p.message).not.toContain(pin);
    }
  });

  it('words lengths in digits or characters after the charset', () => {
    expect(checkPin('12', digits6to8)[0]!.message).toBe('At least 6 digits');
    expect(checkPin('ab', alnum)[0]!.message).toBe('At least 6 characters');
    expect(checkPin('135792468', digits6to8)[0]!.message).toBe('At most 8 digits');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(rules('😀😀😀😀', { ...lax, minLength: 4 })).toEqual(['charset']);
  });
});

describe('validatePinPolicy', () => {
  it('accepts the default and sensible policies', () => {
    for (const p of [DEFAULT_PIN_POLICY, digits6to8, alnum, lax, { ...lax, minLength: 8, maxLength: 8 }]) {
      expect(validatePinPolicy(p)).toEqual({ ok: true, value: p });
    }
    expect(validatePinPolicy({ ...lax, retries: 1 }).ok).toBe(true);
    expect(validatePinPolicy({ ...lax, retries: 15 }).ok).toBe(true);
  });

  it.each([
    [{ minLength: 3 }, 'minLength'],
    [{ minLength: 4.5 }, 'minLength'],
    [{ minLength: 17, maxLength: 16 }, 'minLength'],
    [{ maxLength: 3, minLength: 4 }, 'maxLength'],
    [{ minLength: 8, maxLength: 6 }, 'minLength'],
    [{ maxLength: 9 }, 'maxLength'],
    [{ maxLength: 17 }, 'maxLength'],
    [{ charset: 'hex' }, 'charset'],
    [{ noSequences: 'yes' }, 'noSequences'],
    [{ noRepeatedDigits: 1 }, 'noRepeatedDigits'],
    [{ retries: 0 }, 'retries'],
    [{ retries: 16 }, 'retries'],
    [{ retries: Number.NaN }, 'retries'],
  ] as const)('refuses %j', (change, field) => {
    const r = validatePinPolicy({ ...digits6to8, ...change } as unknown as PinPolicy);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('validation_failed');
    const problems = r.error.details!['problems'] as { field: string; message: string }[];
    expect(problems.map((p) => p.field)).toContain(field);
  });

  it('caps PIV PINs at 8 with a message saying why', () => {
    expect(PIV_MAX_PIN_LENGTH).toBe(8);
    const r = validatePinPolicy({ ...digits6to8, maxLength: 12 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/PIV cards and tokens hold PINs of at most 8 characters/);
    expect(validatePinPolicy({ ...digits6to8, maxLength: 12 }, ['piv_token', 'mobile']).ok).toBe(false);
  });

  it('allows up to 16 for a mobile-only policy', () => {
    expect(validatePinPolicy({ ...digits6to8, maxLength: 16 }, ['mobile']).ok).toBe(true);
    expect(validatePinPolicy({ ...digits6to8, maxLength: 17 }, ['mobile']).ok).toBe(false);
  });

  it('reports every problem at once', () => {
    const r = validatePinPolicy({ ...digits6to8, minLength: 2, retries: 99, charset: 'x' } as never);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const fields = (r.error.details!['problems'] as { field: string }[]).map((p) => p.field);
      expect(fields).toEqual(['minLength', 'charset', 'retries']);
    }
  });
});

describe('describePinPolicy', () => {
  it('words the pattern rules as the checker applies them (its examples pass or fail as they say)', () => {
    const policy = { ...digits6to8, minLength: 4, noSequences: false };
    expect(checkPin('229900', policy)).toEqual([]);
    expect(checkPin('1122', policy)).toEqual([]);
    expect(checkPin('111', { ...policy, minLength: 3 }).map((p) => p.rule)).toEqual(['repeated']);
    expect(PIN_PATTERN_RULES.repeated).toMatch(/three or more times in a row/);
    expect(
      checkPin('9321', { ...digits6to8, minLength: 4, noRepeatedDigits: false }).map((p) => p.rule),
    ).toEqual(['sequence']);
  });

  it('lists every rule of a strict policy', () => {
    expect(describePinPolicy(digits6to8)).toEqual([
      '6 to 8 digits',
      'Digits only (0–9)',
      'No character three or more times in a row, like 111 or aaa (1122 and 229900 are fine)',
      'No three or more characters in ascending or descending sequence, like 123, 321 or abc',
      'The PIN is blocked after 3 wrong attempts in a row',
    ]);
  });

  it('leaves out rules that are off, and words fixed lengths and single retries', () => {
    expect(
      describePinPolicy({ ...alnum, minLength: 8, noRepeatedDigits: false, noSequences: false, retries: 1 }),
    ).toEqual([
      'Exactly 8 characters',
      'Letters (A–Z, a–z) and digits only; upper and lower case are different',
      'The PIN is blocked after 1 wrong attempt in a row',
    ]);
  });
});

/** A small deterministic PRNG (mulberry32) so property runs are reproducible from their seed. */
function seeded(seed: number): (maxExclusive: number) => number {
  let a = seed >>> 0;
  return (max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * max);
  };
}

describe('generatePin', () => {
  const policies: PinPolicy[] = [];
  for (const charset of ['digits', 'alphanumeric'] as const) {
    for (const noRepeatedDigits of [true, false]) {
      for (const noSequences of [true, false]) {
        for (const [minLength, maxLength] of [
          [4, 4],
          [4, 8],
          [6, 8],
          [8, 8],
          [12, 16],
          [16, 16],
        ] as const) {
          policies.push({ minLength, maxLength, charset, noRepeatedDigits, noSequences, retries: 3 });
        }
      }
    }
  }

  it('always satisfies the policy (48 policies × 300 seeds)', () => {
    for (const policy of policies) {
      for (let seed = 1; seed <= 300; seed++) {
        const pin = generatePin(policy, seeded(seed * 7919 + policy.minLength));
        expect(pin).toHaveLength(policy.minLength);
        expect(checkPin(pin, policy)).toEqual([]);
      }
    }
  });

  it('satisfies the policy even when randomness always picks the first or the last candidate', () => {
    for (const policy of policies) {
      const first = generatePin(policy, () => 0);
      const last = generatePin(policy, (n) => n - 1);
      expect(checkPin(first, policy)).toEqual([]);
      expect(checkPin(last, policy)).toEqual([]);
    }
  });

  it('uses its randomness: different seeds give different PINs', () => {
    const pins = new Set(Array.from({ length: 200 }, (_, s) => generatePin(digits6to8, seeded(s))));
    expect(pins.size).toBeGreaterThan(190);
  });

  it('spreads digits over all ten values', () => {
    const counts = new Map<string, number>();
    for (let s = 0; s < 500; s++) {
      for (const c of generatePin(lax, seeded(s))) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe('0123456789');
    for (const n of counts.values()) expect(n).toBeGreaterThan(120); // 2000 draws, ~200 each
  });

  it('leaves out look-alike characters from alphanumeric PINs', () => {
    for (let s = 0; s < 200; s++) expect(generatePin(alnum, seeded(s))).not.toMatch(/[01OolI]/);
  });

  it('refuses a broken random source and an impossible policy', () => {
    expect(() => generatePin(digits6to8, () => 10)).toThrow(RangeError);
    expect(() => generatePin(digits6to8, () => -1)).toThrow(RangeError);
    expect(() => generatePin(digits6to8, () => 0.5)).toThrow(RangeError);
    expect(() => generatePin({ ...digits6to8, minLength: 9 }, () => 0)).toThrow(RangeError);
    expect(() => generatePin({ ...digits6to8, minLength: 0 }, () => 0)).toThrow(RangeError);
  });
});
