// BER-TLV as ISO/IEC 7816-4 §5.2 and SP 800-73-4 use it: tags of one to three bytes (a first byte
// whose low five bits are 1F continues while the next byte has its high bit set), definite lengths
// in short form (< 0x80) or long form 81 xx / 82 xxxx / 83 xxxxxx. Tags are kept as numbers as the
// specs write them (0x5FC105, 0x7F49). Decoding never reads past its input: a truncated or
// overlong TLV is a CardProtocolError, because the bytes usually come from a card we do not trust.
import { CardProtocolError } from './errors.js';

export interface Tlv {
  tag: number;
  value: Uint8Array;
}

export function encodeTag(tag: number): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new RangeError(`tag ${tag} out of range`);
  if (tag > 0xffff) return Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
  if (tag > 0xff) return Uint8Array.of(tag >> 8, tag & 0xff);
  return Uint8Array.of(tag);
}

export function encodeLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffff) {
    throw new RangeError(`length ${length} out of range`);
  }
  if (length < 0x80) return Uint8Array.of(length);
  if (length <= 0xff) return Uint8Array.of(0x81, length);
  if (length <= 0xffff) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  return Uint8Array.of(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
}

/** One TLV: tag, length, value. */
export function tlv(tag: number, value: Uint8Array | readonly number[] = EMPTY): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new RangeError(`tag ${tag} out of range`);
  const n = value.length;
  if (n > 0xffffff) throw new RangeError(`length ${n} out of range`);
  // One allocation per TLV (every command and object a card is sent is built of these).
  const tagBytes = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
  const lenBytes = n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 4;
  const out = new Uint8Array(tagBytes + lenBytes + n);
  let at = 0;
  for (let i = tagBytes - 1; i >= 0; i--) out[at++] = (tag >> (8 * i)) & 0xff;
  if (lenBytes > 1) out[at++] = 0x80 | (lenBytes - 1);
  for (let i = lenBytes > 1 ? lenBytes - 2 : 0; i >= 0; i--) out[at++] = (n >> (8 * i)) & 0xff;
  out.set(value, at);
  return out;
}

const EMPTY = new Uint8Array(0);

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Read {
  tlv: Tlv;
  next: number;
}

function truncated(what: string, at: number): CardProtocolError {
  return new CardProtocolError(`Truncated TLV: ${what} missing at offset ${at}`);
}

// Byte by byte without a helper closure: every APDU answer goes through here, and a closure made per
// TLV (named at each call when run from source through tsx) showed in the issuance profile.
function readOne(buf: Uint8Array, start: number): Read {
  const n = buf.length;
  let at = start;
  if (at >= n) throw truncated('tag', at);
  let tag = buf[at++]!;
  if ((tag & 0x1f) === 0x1f) {
    // Subsequent tag bytes (ISO 7816-4 §5.2.2.1); we accept at most three bytes in all.
    let b: number;
    let count = 1;
    do {
      if (at >= n) throw truncated('tag', at);
      b = buf[at++]!;
      tag = (tag << 8) | b;
      count += 1;
      if (count > 3) throw new CardProtocolError('TLV tag longer than three bytes', { offset: start });
    } while (b & 0x80);
  }
  if (at >= n) throw truncated('length', at);
  let length = buf[at++]!;
  if (length === 0x80) throw new CardProtocolError('Indefinite TLV length is not allowed', { offset: start });
  if (length > 0x80) {
    const k = length & 0x7f;
    if (k > 3) throw new CardProtocolError('TLV length field longer than three bytes', { offset: start });
    length = 0;
    for (let i = 0; i < k; i += 1) {
      if (at >= n) throw truncated('length', at);
      length = length * 256 + buf[at++]!;
    }
  }
  if (at + length > n) {
    throw new CardProtocolError('Truncated TLV: value shorter than its length', {
      tag: tag.toString(16),
      length,
      available: n - at,
    });
  }
  return { tlv: { tag, value: buf.subarray(at, at + length) }, next: at + length };
}

/** Decodes a sequence of TLVs that must fill `buf` exactly. */
export function decodeTlvs(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < buf.length) {
    const r = readOne(buf, at);
    out.push(r.tlv);
    at = r.next;
  }
  return out;
}

/** Decodes exactly one TLV at the start of `buf`; trailing bytes are reported in `rest`. */
export function decodeTlv(buf: Uint8Array): Tlv & { rest: Uint8Array } {
  const r = readOne(buf, 0);
  return { ...r.tlv, rest: buf.subarray(r.next) };
}

/** The value of the first TLV with `tag` among `tlvs`, or undefined. */
export function findTlv(tlvs: readonly Tlv[], tag: number): Uint8Array | undefined {
  return tlvs.find((t) => t.tag === tag)?.value;
}

/** Like findTlv, but a missing tag is a protocol error naming what was expected. */
export function requireTlv(tlvs: readonly Tlv[], tag: number, what: string): Uint8Array {
  const v = findTlv(tlvs, tag);
  if (v === undefined)
    throw new CardProtocolError(`The card's answer lacks ${what} (tag ${tag.toString(16)})`);
  return v;
}

/** Decodes `buf` as a single constructed TLV with `tag` and returns its children. */
export function unwrap(buf: Uint8Array, tag: number, what: string): Uint8Array {
  const t = decodeTlv(buf);
  if (t.tag !== tag) {
    throw new CardProtocolError(`Expected ${what} (tag ${tag.toString(16)}), got tag ${t.tag.toString(16)}`);
  }
  return t.value;
}
