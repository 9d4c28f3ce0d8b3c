// Runs before every test file (vitest.config.ts setupFiles). New password hashes in the test
// process cost scrypt N = 2^10 instead of production's 2^14: the suite makes over a thousand (sign-ins'
// people, demo seeds, initial passwords, security answers), each ~50-100 ms of a two-core machine
// at the real cost, and almost none of those tests is about hashing. Verification reads the cost
// from the hash, so nothing else changes; a check for an unknown name still costs the real N, and
// test/services/password-hash.test.ts holds production's cost. Servers started as processes
// (`tessera serve`, `tessera start`) hash at the real cost.
import { vi } from 'vitest';

export const TEST_PASSWORD_COST = 1024;

vi.mock(import('../../src/secrets/password.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    hashPassword: (password: string) => real.hashPasswordAtCost(password, TEST_PASSWORD_COST),
  };
});
