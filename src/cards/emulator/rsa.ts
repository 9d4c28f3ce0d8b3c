// RSA arithmetic the card needs beyond what a platform offers: a private key from the CRT factors
// Yubico IMPORT KEY sends (the public exponent is 65537), and the raw private operation with the
// Chinese remainder theorem (WebCrypto has no unpadded RSA).
import { bigFromBytes, bytesFromBig, toBase64Url } from '../bytes.js';
import { BadKeyInput } from './card-crypto.js';

export interface RsaJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new BadKeyInput('factors are not coprime to the exponent');
  return ((s0 % m) + m) % m;
}

const b64 = (v: bigint): string => toBase64Url(bytesFromBig(v));

export function rsaJwkFromFactors(f: {
  p: Uint8Array;
  q: Uint8Array;
  dp: Uint8Array;
  dq: Uint8Array;
  qi: Uint8Array;
}): RsaJwk {
  const [p, q] = [bigFromBytes(f.p), bigFromBytes(f.q)];
  if (p < 3n || q < 3n) throw new BadKeyInput('bad factors');
  const e = 65537n;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  return {
    kty: 'RSA',
    n: b64(p * q),
    e: b64(e),
    d: b64(d),
    p: b64(p),
    q: b64(q),
    dp: b64(bigFromBytes(f.dp)),
    dq: b64(bigFromBytes(f.dq)),
    qi: b64(bigFromBytes(f.qi)),
  };
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/** m = c^d mod n through the CRT parts; `size` is the modulus length in bytes. */
export function rsaPrivate(
  k: { n: bigint; p: bigint; q: bigint; dp: bigint; dq: bigint; qi: bigint },
  c: bigint,
  size: number,
): Uint8Array {
  if (c >= k.n) throw new BadKeyInput('block ≥ modulus');
  const m1 = modPow(c, k.dp, k.p);
  const m2 = modPow(c, k.dq, k.q);
  const h = (((((m1 - m2) % k.p) + k.p) % k.p) * k.qi) % k.p;
  return bytesFromBig(m2 + h * k.q, size);
}
