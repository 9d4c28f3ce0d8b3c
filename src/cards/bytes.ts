// Byte helpers for the card layer that run in Node and in a browser alike (no Buffer): the card
// application is one codebase for the emulator and the phone's wallet.

const HEX = '0123456789abcdef';

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const v of b) s += HEX[v >> 4]! + HEX[v & 15]!;
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new RangeError('not a hex string');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let bin = '';
  for (const v of b) bin += String.fromCharCode(v);
  return btoa(bin);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

export const toBase64Url = (b: Uint8Array): string =>
  toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export function fromBase64Url(s: string): Uint8Array {
  const b = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b + '='.repeat((4 - (b.length % 4)) % 4));
}

/** Compares in time independent of where the first difference is (PIN, PUK and witness checks). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Cryptographically random bytes from the platform (Node ≥ 19 and browsers share this API). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536)
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** A uniform random integer in [min, max), without modulo bias. */
export function randomInt(min: number, max: number): number {
  const range = max - min;
  if (!(range > 0 && range <= 2 ** 32)) throw new RangeError('bad range');
  const limit = 2 ** 32 - (2 ** 32 % range);
  for (;;) {
    const v = new DataView(randomBytes(4).buffer).getUint32(0);
    if (v < limit) return min + (v % range);
  }
}

export const bigFromBytes = (b: Uint8Array): bigint => (b.length ? BigInt('0x' + toHex(b)) : 0n);

export function bytesFromBig(v: bigint, size?: number): Uint8Array {
  let h = v.toString(16);
  if (h.length % 2) h = '0' + h;
  const raw = fromHex(h);
  if (size === undefined || raw.length >= size) return raw;
  const out = new Uint8Array(size);
  out.set(raw, size - raw.length);
  return out;
}
