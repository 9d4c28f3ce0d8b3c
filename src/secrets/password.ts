// Password, initial-password and security-answer hashing with scrypt (memory-hard, in Node's
// standard library). Format: scrypt$N$r$p$salt$hash (base64), so parameters can grow later.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** A new hash, at the cost every stored password, initial password and answer gets. */
export function hashPassword(password: string): Promise<string> {
  return hashPasswordAtCost(password, N);
}

/**
 * A new hash at scrypt cost `n` (a power of two). Only the test suite asks for less than N, for
 * the tests where hashing is not the subject (test/setup/password-cost.ts); a check reads the
 * cost from the hash, so either kind verifies.
 */
export async function hashPasswordAtCost(password: string, n: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEYLEN, { N: n, r: R, p: P });
  return `scrypt$${n}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  return verifyPasswordOrSpend(password, stored, N);
}

/**
 * verifyPassword, spending scrypt at cost `spendCost` when there is no hash to check (an unknown
 * or delayed name). Only the test suite asks for less than N (test/setup/password-cost.ts).
 */
export async function verifyPasswordOrSpend(
  password: string,
  stored: string | null | undefined,
  spendCost: number,
): Promise<boolean> {
  if (!stored) {
    // Spend the same time as a real check, so response timing does not reveal unknown accounts.
    await scrypt(password, randomBytes(16), KEYLEN, { N: spendCost, r: R, p: P });
    return false;
  }
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A random password people can type: 4 groups of 4 from an alphabet without look-alikes. */
export function randomPassword(groups = 4): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const out: string[] = [];
  const bytes = randomBytes(groups * 4 * 2);
  let i = 0;
  for (let g = 0; g < groups; g++) {
    let s = '';
    while (s.length < 4) {
      const b = bytes[i++]!;
      // Reject values past the largest multiple of the alphabet size: no modulo bias.
      if (b < 256 - (256 % alphabet.length)) s += alphabet[b % alphabet.length];
      if (i >= bytes.length) i = 0;
    }
    out.push(s);
  }
  return out.join('-');
}
