import { describe, expect, it } from 'vitest';
import { CardProtocolError } from '../../src/cards/errors.js';
import { concat, decodeTlv, decodeTlvs, encodeLength, encodeTag, tlv } from '../../src/cards/tlv.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

describe('BER-TLV encoding', () => {
  it.each([
    [0, '00'],
    [0x7f, '7f'],
    [0x80, '8180'],
    [0xff, '81ff'],
    [0x100, '820100'],
    [0xffff, '82ffff'],
    [0x10000, '83010000'],
  ])('length %i encodes as %s', (n, expected) => {
    expect(hex(encodeLength(n))).toBe(expected);
  });

  it.each([
    ['one-byte tag', 0x53, '0102', '53020102'],
    ['two-byte tag (7F49)', 0x7f49, '86', '7f490186'],
    ['three-byte tag (5FC105)', 0x5fc105, '', '5fc10500'],
    ['discovery tag', 0x7e, 'aa', '7e01aa'],
  ])('%s', (_name, tag, value, expected) => {
    expect(hex(tlv(tag, bytes(value)))).toBe(expected);
  });

  it('is the tag, the length and the value, at every length boundary', () => {
    for (const tag of [0, 0x53, 0xff, 0x100, 0x7f49, 0xffff, 0x10000, 0x5fc105, 0xffffff])
      for (const n of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000]) {
        const value = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
        const expected = concat(encodeTag(tag), encodeLength(n), value);
        expect(hex(tlv(tag, value))).toBe(hex(expected));
        if (n < 300) expect(hex(tlv(tag, [...value]))).toBe(hex(expected));
      }
    expect(hex(tlv(0x53))).toBe('5300');
    expect(() => tlv(0x1000000, [])).toThrow(RangeError);
    expect(() => tlv(-1, [])).toThrow(RangeError);
  });

  it('round-trips a long value with a two-byte length', () => {
    const value = new Uint8Array(300).fill(7);
    const t = decodeTlv(tlv(0x70, value));
    expect(t.tag).toBe(0x70);
    expect(t.value).toEqual(value);
    expect(t.rest.length).toBe(0);
  });
});

describe('BER-TLV decoding', () => {
  it('decodes a SELECT answer (application property template) as a YubiKey sends it', () => {
    const [apt] = decodeTlvs(bytes('61114f0600001000010079074f05a000000308'));
    expect(apt!.tag).toBe(0x61);
    const inner = decodeTlvs(apt!.value);
    expect(inner.map((t) => t.tag)).toEqual([0x4f, 0x79]);
    expect(hex(inner[0]!.value)).toBe('000010000100');
  });

  it('decodes multi-byte tags and long-form lengths', () => {
    const items = decodeTlvs(bytes('5fc10281030a0b0c 7f4900'));
    expect(items).toEqual([
      { tag: 0x5fc102, value: bytes('0a0b0c') },
      { tag: 0x7f49, value: new Uint8Array(0) },
    ]);
  });

  it.each([
    ['empty tag', ''],
    ['missing length', '53'],
    ['value shorter than its length', '5305010203'],
    ['long-form length cut short', '538201'],
    ['indefinite length', '538000'],
    ['tag longer than three bytes', '5fffffff0100'],
    ['length field longer than three bytes', '53840000000100'],
  ])('rejects %s with CardProtocolError', (_name, input) => {
    expect(() => decodeTlvs(bytes(input)).length + (input === '' ? decodeTlv(bytes(input)).tag : 0)).toThrow(
      CardProtocolError,
    );
  });
});
