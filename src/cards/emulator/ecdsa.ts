// ECDSA over a digest the host computed, as a PIV card signs (SP 800-73-4 Part 2 §3.2.4: the card
// receives the hash, not the message). Node's crypto.sign always hashes its input, so the signature
// equation (FIPS 186-5 §6.4.1) is computed here with BigInt, the point multiplication k·G by
// OpenSSL through ECDH (the public key of private key k is k·G).
import { createECDH, randomBytes } from 'node:crypto';

const CURVES = {
  'P-256': {
    ecdh: 'prime256v1',
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    size: 32,
  },
  'P-384': {
    ecdh: 'secp384r1',
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    size: 48,
  },
} as const;

const toBig = (b: Uint8Array): bigint =>
  b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));

function toBytes(v: bigint, size: number): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(size * 2, '0'), 'hex'));
}

function mod(a: bigint, n: bigint): bigint {
  const r = a % n;
  return r < 0n ? r + n : r;
}

function invert(a: bigint, n: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, n), n, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, n);
}

/** Signs `digest` with private scalar `d`; returns the DER-encoded ECDSA-Sig-Value (RFC 3279 §2.2.3). */
export function ecdsaSignDigest(curve: 'P-256' | 'P-384', d: Uint8Array, digest: Uint8Array): Uint8Array {
  const c = CURVES[curve];
  // Leftmost bits of the digest when it is longer than the group order (FIPS 186-5 §6.4.1 step 2).
  const e = toBig(digest.length > c.size ? digest.subarray(0, c.size) : digest);
  const x = toBig(d);
  for (;;) {
    const k = toBig(randomBytes(c.size));
    if (k === 0n || k >= c.n) continue;
    const ecdh = createECDH(c.ecdh);
    ecdh.setPrivateKey(Buffer.from(toBytes(k, c.size)));
    const point = ecdh.getPublicKey();
    const r = mod(toBig(point.subarray(1, 1 + c.size)), c.n);
    if (r === 0n) continue;
    const s = mod(invert(k, c.n) * (e + r * x), c.n);
    if (s === 0n) continue;
    return derSignature(toBytes(r, c.size), toBytes(s, c.size));
  }
}

function derInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i += 1;
  const body = v[i]! & 0x80 ? Buffer.concat([Buffer.of(0), v.subarray(i)]) : Buffer.from(v.subarray(i));
  return Buffer.concat([Buffer.of(0x02, body.length), body]);
}

function derSignature(r: Uint8Array, s: Uint8Array): Uint8Array {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  const len = body.length < 0x80 ? Buffer.of(body.length) : Buffer.of(0x81, body.length);
  return Uint8Array.from(Buffer.concat([Buffer.of(0x30), len, body]));
}
