// Certificate serial numbers: 16 random bytes (128 bits, well above the ≥ 64 bits of CA/B BR
// §7.1 and the "positive, at most 20 octets" of RFC 5280 §4.1.2.2). The top bit is cleared so
// the INTEGER is positive without a leading zero, and the first byte is kept non-zero so the
// encoding is always exactly 16 content octets (fixed-size slot in the compiled template).
import { randomBytes } from 'node:crypto';

export type RandomSource = (n: number) => Uint8Array;

/** randomBytes in 4 KiB draws (one CSPRNG call per 256 serials instead of one per serial). */
const pool = { buf: Buffer.alloc(0), off: 0 };
function pooledRandom(n: number): Uint8Array {
  if (pool.off + n > pool.buf.length) {
    pool.buf = randomBytes(4096);
    pool.off = 0;
  }
  const out = pool.buf.subarray(pool.off, pool.off + n);
  pool.off += n;
  return out;
}

export function randomSerial(random: RandomSource = pooledRandom): Buffer {
  const b = Buffer.from(random(16));
  b[0] = b[0]! & 0x7f;
  if (b[0] === 0) b[0] = 0x01 + (b[1]! % 0x7f);
  return b;
}

/** Serial as lower-case hex without leading zero octets (how the API and OCSP lookups name it). */
export function serialHex(magnitude: Uint8Array): string {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  return Buffer.from(magnitude.subarray(i)).toString('hex');
}
