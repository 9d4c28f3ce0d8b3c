// Runs before every test file (vitest.config.ts setupFiles). Password hashing in the test process
// costs scrypt N = 2^10 instead of production's 2^14: new hashes (people who sign in, demo seeds,
// initial passwords, security answers: over a thousand a run) and the check spent on an unknown or
// delayed name (hundreds in the throttling tests), each 50-200 ms of a busy two-core machine at the
// real cost, and none of those tests is about the cost. Verifying a hash reads its cost from it, so
// nothing else changes. test/services/password-hash.test.ts holds production's cost; servers
// started as processes (`tessera serve`, `tessera start`) hash at the real cost.
import { vi } from 'vitest';

export const TEST_PASSWORD_COST = 1024;

vi.mock(import('../../src/secrets/password.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    hashPassword: (password: string) => real.hashPasswordAtCost(password, TEST_PASSWORD_COST),
    verifyPassword: (password: string, stored: string | null | undefined) =>
      real.verifyPasswordOrSpend(password, stored, TEST_PASSWORD_COST),
  };
});
