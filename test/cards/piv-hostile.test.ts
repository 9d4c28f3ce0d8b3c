// What a broken or hostile card may answer, and the clear error the PIV client gives for each:
// never a hang, never a crash, never a wrong result taken for a good one.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AuthenticationFailedError, CardProtocolError, CardTimeoutError } from '../../src/cards/errors.js';
import { ALGORITHM, DEFAULT_MANAGEMENT_KEY, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { tlv } from '../../src/cards/tlv.js';
import { scriptedCard } from '../support/card-script.js';

const APT = '61114f0600001000010079074f05a000000308';
const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A card that selects and reports version 5.4.3, then answers INS-specific scripted data. */
function card(answers: Record<string, string | (() => string)>, timeoutMs?: number) {
  const conn = scriptedCard((apdu) => {
    const ins = apdu.slice(2, 4);
    if (ins === 'a4') return APT + '9000';
    if (ins === 'fd') return '0504039000';
    const a = answers[ins];
    if (a === undefined) return '6d00';
    return typeof a === 'function' ? a() : a;
  });
  return PivSession.open(conn, { timeoutMs });
}

describe('PIV client against hostile answers', () => {
  it('rejects a public key template cut short', async () => {
    const s = await card({ '47': '7f498180' + '0401' + '9000' });
    await expect(s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256)).rejects.toBeInstanceOf(
      CardProtocolError,
    );
  });

  it('rejects an RSA key of the wrong size and an EC point of the wrong length', async () => {
    const rsa = h(tlv(0x7f49, [...tlv(0x81, new Uint8Array(125).fill(0xc1)), ...tlv(0x82, [1, 0, 1])]));
    const s = await card({ '47': rsa + '9000' });
    await expect(s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.RSA_2048)).rejects.toThrow(
      /1000 bits, expected 2048/,
    );
    const ec = h(tlv(0x7f49, tlv(0x86, new Uint8Array(33).fill(4))));
    const s2 = await card({ '47': ec + '9000' });
    await expect(s2.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256)).rejects.toBeInstanceOf(
      CardProtocolError,
    );
  });

  it('rejects a point that is not on the curve', async () => {
    const bad = new Uint8Array(65).fill(7);
    bad[0] = 4;
    const s = await card({ '47': h(tlv(0x7f49, tlv(0x86, bad))) + '9000' });
    await expect(s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256)).rejects.toBeInstanceOf(
      CardProtocolError,
    );
  });

  it('rejects a witness of the wrong length and a card that cannot prove the management key', async () => {
    const short = await card({ '87': h(tlv(0x7c, tlv(0x80, [1, 2, 3]))) + '9000' });
    await expect(short.authenticate(DEFAULT_MANAGEMENT_KEY, ALGORITHM.TDEA_3KEY)).rejects.toBeInstanceOf(
      CardProtocolError,
    );
    let step = 0;
    const liar = await card({
      '87': () => {
        step += 1;
        return step === 1
          ? h(tlv(0x7c, tlv(0x80, new Uint8Array(8).fill(1)))) + '9000'
          : h(tlv(0x7c, tlv(0x82, new Uint8Array(8).fill(2)))) + '9000';
      },
    });
    await expect(liar.authenticate(DEFAULT_MANAGEMENT_KEY, ALGORITHM.TDEA_3KEY)).rejects.toBeInstanceOf(
      AuthenticationFailedError,
    );
  });

  it('rejects a certificate object without a certificate, or one marked compressed that is not', async () => {
    const noCert = h(tlv(0x53, [...tlv(0x71, [0]), ...tlv(0xfe)]));
    await expect(
      (await card({ cb: noCert + '9000' })).getCertificate(SLOT.AUTHENTICATION),
    ).rejects.toBeInstanceOf(CardProtocolError);
    const fakeGzip = h(tlv(0x53, [...tlv(0x70, [1, 2, 3]), ...tlv(0x71, [1]), ...tlv(0xfe)]));
    await expect((await card({ cb: fakeGzip + '9000' })).getCertificate(SLOT.AUTHENTICATION)).rejects.toThrow(
      /does not gunzip/,
    );
  });

  it('refuses to inflate a compressed certificate beyond 64 KiB (gzip bomb)', async () => {
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    const obj = h(tlv(0x53, [...tlv(0x70, bomb), ...tlv(0x71, [1]), ...tlv(0xfe)]));
    await expect(
      (await card({ cb: obj + '9000' })).getCertificate(SLOT.AUTHENTICATION),
    ).rejects.toBeInstanceOf(CardProtocolError);
  });

  it('rejects a serial of the wrong length, then falls back to CHUID and CPLC', async () => {
    const s = await card({
      f8: '01029000',
      cb: '6a82',
      ca: h(tlv(0x9f7f, new Uint8Array(42).fill(0x11))) + '9000',
    });
    expect(await s.getSerial()).toEqual({ serial: '11111111', source: 'cplc' });
  });

  it('gives up on a GET DATA whose 61xx chain never ends', async () => {
    const s = await card({ cb: '00' + '6110', c0: '00' + '6110' });
    await expect(s.getCertificate(SLOT.AUTHENTICATION)).rejects.toThrow(/61xx/);
  });

  it('times out a card that stops answering', async () => {
    const conn = scriptedCard((apdu) => (apdu.slice(2, 4) === 'a4' ? APT + '9000' : 'hang'));
    await expect(PivSession.open(conn, { timeoutMs: 100 })).rejects.toBeInstanceOf(CardTimeoutError);
  });
});
