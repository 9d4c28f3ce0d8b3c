import { describe, expect, it } from 'vitest';
import { MalformedCommandError, decodeCommand, decodeResponse, encodeCommand } from '../../src/cards/apdu.js';
import { CardProtocolError } from '../../src/cards/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('command APDU encoding (ISO 7816-3 §12.1)', () => {
  it.each([
    ['case 1', { cla: 0, ins: 0xfb, p1: 0, p2: 0 }, false, '00fb0000'],
    ['case 2 short, Le 256 as 00', { cla: 0, ins: 0xfd, p1: 0, p2: 0, le: 256 }, false, '00fd000000'],
    [
      'case 3 short (VERIFY)',
      { cla: 0, ins: 0x20, p1: 0, p2: 0x80, data: bytes('313233343536ffff') },
      false,
      '0020008008313233343536ffff',
    ],
    [
      'case 4 short (SELECT PIV)',
      { cla: 0, ins: 0xa4, p1: 4, p2: 0, data: bytes('a000000308'), le: 256 },
      false,
      '00a4040005a00000030800',
    ],
    [
      'case 2 extended, Le 65536 as 0000',
      { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, le: 65536 },
      true,
      '00cb3fff000000',
    ],
    [
      'case 4 extended',
      { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: bytes('5c017e'), le: 65536 },
      true,
      '00cb3fff0000035c017e0000',
    ],
  ])('%s', (_name, cmd, extended, expected) => {
    expect(hex(encodeCommand(cmd, { extended }))).toBe(expected);
  });

  it('switches to extended form when data exceeds 255 bytes', () => {
    const apdu = encodeCommand({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: new Uint8Array(300) });
    expect(hex(apdu.subarray(0, 7))).toBe('00db3fff00012c');
    expect(apdu.length).toBe(7 + 300);
  });

  it('decodes back to what it encoded, in every case and length boundary', () => {
    for (const n of [0, 1, 255, 256, 1000])
      for (const le of [0, 1, 255, 256, 257, 65536])
        for (const ext of [false, true]) {
          const data = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
          const cmd = { cla: 0x10, ins: 0xdb, p1: 0x3f, p2: 0xff, data, le };
          const d = decodeCommand(encodeCommand(cmd, { extended: ext }));
          expect({ ...d, data: hex(d.data) }).toEqual({
            ...cmd,
            data: hex(data),
            // Case 1 (no data, no Le) is one form only.
            extended: (ext && (n > 0 || le > 0)) || n > 255 || le > 256,
          });
        }
  });

  it('rejects header bytes out of range', () => {
    expect(() => encodeCommand({ cla: 0x100, ins: 0, p1: 0, p2: 0 })).toThrow(RangeError);
  });
});

describe('command APDU decoding', () => {
  it.each([
    ['00fb0000', { data: '', le: 0, extended: false }],
    ['00fd000000', { data: '', le: 256, extended: false }],
    ['00fd000003', { data: '', le: 3, extended: false }],
    ['0020008008313233343536ffff', { data: '313233343536ffff', le: 0, extended: false }],
    ['00a4040005a00000030800', { data: 'a000000308', le: 256, extended: false }],
    ['00cb3fff000000', { data: '', le: 65536, extended: true }],
    ['00cb3fff0000035c017e0000', { data: '5c017e', le: 65536, extended: true }],
    ['00cb3fff0000035c017e', { data: '5c017e', le: 0, extended: true }],
  ])('%s', (input, expected) => {
    const c = decodeCommand(bytes(input));
    expect({ data: hex(c.data), le: c.le, extended: c.extended }).toEqual(expected);
  });

  it.each([['00a4'], ['00a4040005a000'], ['00a404000000020a'], ['00a404000003a000']])(
    'rejects malformed %s',
    (input) => {
      expect(() => decodeCommand(bytes(input))).toThrow(MalformedCommandError);
    },
  );
});

describe('response APDU decoding', () => {
  it('splits data and status word', () => {
    const r = decodeResponse(bytes('0504039000'));
    expect(hex(r.data)).toBe('050403');
    expect(r.sw).toBe(0x9000);
  });
  it.each([[''], ['90']])('rejects a response shorter than a status word (%s)', (input) => {
    expect(() => decodeResponse(bytes(input))).toThrow(CardProtocolError);
  });
});
