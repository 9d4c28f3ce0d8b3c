// The lockout rule on its own (the services' tests cover it through the operator and portal
// sign-ins on both databases).
import { describe, expect, it } from 'vitest';
import { afterFailure, assertUnlocked, LockedOutError } from '../../src/services/sign-in-lockout.js';

const policy = { maxFailures: 3, lockoutMinutes: 15 };
const now = new Date('2026-02-28T23:59:30Z');
const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);

describe('the sign-in lockout rule', () => {
  it.each([
    ['the first failure counts 1', { failures: 0, lockedUntil: null }, 1, null],
    ['failures add up below the limit', { failures: 1, lockedUntil: null }, 2, null],
    [
      'the failure that reaches the limit locks for lockoutMinutes',
      { failures: 2, lockedUntil: null },
      3,
      at(15),
    ],
    ['a lock that has run out starts the count afresh', { failures: 2, lockedUntil: at(-1) }, 1, null],
    ['a lock ending exactly now has run out', { failures: 2, lockedUntil: now }, 1, null],
  ])('%s', (_, count, failures, lockedUntil) => {
    expect(afterFailure(count, policy, now)).toEqual({ failures, lockedUntil });
  });

  it('refuses while locked, saying until when, and lets through once the lock has run out', () => {
    expect(() => assertUnlocked({ failures: 0, lockedUntil: at(1) }, now)).toThrow(LockedOutError);
    expect(() => assertUnlocked({ failures: 0, lockedUntil: at(1) }, now)).toThrow(at(1).toISOString());
    expect(() => assertUnlocked({ failures: 0, lockedUntil: now }, now)).not.toThrow();
    expect(() => assertUnlocked({ failures: 4, lockedUntil: null }, now)).not.toThrow();
  });
});
