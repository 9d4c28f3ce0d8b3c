// The minimum of DER needed by the compiled-template signer (cert-template.ts) and for slicing
// raw fields out of certificates: a TLV reader and a TLV writer (X.690 §8.1). Everything that is
// built once — extensions, names, algorithm identifiers — goes through the @peculiar/asn1-*
// schema classes; these helpers only splice those pre-encoded pieces with per-certificate values.

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

export class DerError extends Error {}

/** Reads one TLV at `offset` (single-byte tags only: all X.509 tags used here are low-tag-number). */
export function readTlv(buf: Uint8Array, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new DerError(`DER truncated at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte DER tag at offset ${offset}`);
  let p = offset + 1;
  const first = buf[p++]!;
  let len: number;
  if (first < 0x80) len = first;
  else {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`unsupported DER length at offset ${offset}`);
    if (p + n > buf.length) throw new DerError(`DER truncated at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  const end = p + len;
  if (end > buf.length) throw new DerError(`DER value at offset ${offset} runs past the end`);
  return { tag, start: offset, contentStart: p, end };
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.contentStart;
  while (p < parent.end) {
    const t = readTlv(buf, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

export function slice(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.start, t.end - t.start);
}

export function content(buf: Uint8Array, t: Tlv): Buffer {
  return Buffer.from(buf.buffer, buf.byteOffset + t.contentStart, t.end - t.contentStart);
}

/** Wraps already-encoded content in a TLV with the definite-length form DER requires (X.690 §10.1). */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const hl = len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;
  // One allocation per TLV: this runs ~25 times per certificate on the compiled-template path.
  const out = Buffer.allocUnsafe(hl + len);
  out[0] = tag;
  if (hl === 2) out[1] = len;
  else {
    out[1] = 0x80 | (hl - 2);
    for (let i = hl - 1, v = len; i >= 2; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  let off = hl;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const two = (n: number) => (n < 10 ? '0' : '') + n;

/** X.509 Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050, seconds, Z. */
export function encodeTime(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest =
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes()) +
    two(d.getUTCSeconds()) +
    'Z';
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(two(y % 100) + rest, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(String(y).padStart(4, '0') + rest, 'latin1'));
}

/** A positive INTEGER from unsigned big-endian magnitude bytes (minimal, X.690 §8.3.2). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m[0]! & 0x80 ? tlv(TAG.INTEGER, Buffer.from([0]), m) : tlv(TAG.INTEGER, m);
}

/** A standalone ArrayBuffer copy of a view (what WebCrypto-typed APIs accept). */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer;
}
