// Production's password hashing cost, which the rest of the suite lowers for speed
// (test/setup/password-cost.ts): the real module's hashPassword, and the lowered one beside it.
import { describe, expect, it, vi } from 'vitest';
import * as lowered from '../../src/secrets/password.js';
import { TEST_PASSWORD_COST } from '../setup/password-cost.js';

const real = await vi.importActual<typeof lowered>('../../src/secrets/password.js');

describe('password hashes', () => {
  it('cost scrypt N = 2^14, r = 8, p = 1 in production, and verify', async () => {
    const hash = await real.hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await real.verifyPassword('correct horse', hash)).toBe(true);
    expect(await real.verifyPassword('wrong horse', hash)).toBe(false);
    // No hash (an unknown name): refused, after as much work as a real check.
    expect(await real.verifyPassword('correct horse', null)).toBe(false);
    expect(await real.verifyPasswordOrSpend('correct horse', undefined, 1024)).toBe(false);
  });

  it('cost less in the test processes only, and verify there as well as with the real module', async () => {
    const hash = await lowered.hashPassword('correct horse');
    expect(hash.startsWith(`scrypt$${TEST_PASSWORD_COST}$8$1$`)).toBe(true);
    expect(await real.verifyPassword('correct horse', hash)).toBe(true);
    expect(await lowered.verifyPassword('wrong horse', hash)).toBe(false);
    expect(await lowered.verifyPassword('correct horse', null)).toBe(false);
  });
});
