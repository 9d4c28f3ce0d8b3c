// Builders and parsers of the PIV data objects a CMS writes: the certificate container (SP 800-73-4
// Part 1 Table 10: 70 certificate, 71 CertInfo, FE error detection code), the CHUID (Table 9) and
// the Card Capability Container (Table 8).
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { CardProtocolError } from '../errors.js';
import { concat, decodeTlvs, findTlv, tlv } from '../tlv.js';

/** CertInfo bit 0: the certificate is gzip-compressed (Part 1 Table 10, note 1). */
export const CERTINFO_GZIP = 0x01;

export function encodeCertificateObject(der: Uint8Array, opts: { compressed?: boolean } = {}): Uint8Array {
  return concat(tlv(0x70, der), tlv(0x71, [opts.compressed ? CERTINFO_GZIP : 0]), tlv(0xfe));
}

/** The DER certificate inside a certificate object, decompressed if CertInfo says so. */
export function decodeCertificateObject(value: Uint8Array): Uint8Array {
  const items = decodeTlvs(value);
  const cert = findTlv(items, 0x70);
  if (!cert) throw new CardProtocolError('Certificate object lacks the certificate (tag 70)');
  const info = findTlv(items, 0x71);
  if (info && info.length > 0 && (info[0]! & CERTINFO_GZIP) !== 0) {
    try {
      return Uint8Array.from(gunzipSync(cert, { maxOutputLength: 64 * 1024 }));
    } catch {
      throw new CardProtocolError('Certificate object is marked compressed but does not gunzip');
    }
  }
  return cert;
}

/**
 * The FASC-N of a non-federal issuer (agency 9999, system 9999, credential 999999: SP 800-73-4
 * Part 1 §3.1.2 and TIG SCEPACS), in its 5-bit BCD-with-parity encoding. Cards outside the US
 * federal PKI carry this value and tell themselves apart by the GUID.
 */
export const NON_FEDERAL_FASCN = Uint8Array.from(
  Buffer.from('d4e739da739ced39ce739d836858210842108421c84210c3eb', 'hex'),
);

export interface Chuid {
  fascn: Uint8Array;
  guid: Uint8Array;
  /** YYYYMMDD */
  expiration: string;
}

export function encodeChuid(c: Chuid): Uint8Array {
  if (c.guid.length !== 16) throw new RangeError('CHUID GUID must be 16 bytes');
  if (!/^\d{8}$/.test(c.expiration)) throw new RangeError('CHUID expiration must be YYYYMMDD');
  return concat(
    tlv(0x30, c.fascn),
    tlv(0x34, c.guid),
    tlv(0x35, Buffer.from(c.expiration, 'ascii')),
    // Issuer asymmetric signature: empty, as on cards whose CHUID is not signed by a PIV issuer.
    tlv(0x3e),
    tlv(0xfe),
  );
}

export function decodeChuid(value: Uint8Array): Chuid {
  const items = decodeTlvs(value);
  return {
    fascn: findTlv(items, 0x30) ?? new Uint8Array(0),
    guid: findTlv(items, 0x34) ?? new Uint8Array(0),
    expiration: Buffer.from(findTlv(items, 0x35) ?? new Uint8Array(0)).toString('ascii'),
  };
}

export function newChuid(expiration: Date, guid: Uint8Array = Uint8Array.from(randomBytes(16))): Chuid {
  const y = expiration.getUTCFullYear().toString().padStart(4, '0');
  const m = (expiration.getUTCMonth() + 1).toString().padStart(2, '0');
  const d = expiration.getUTCDate().toString().padStart(2, '0');
  return { fascn: NON_FEDERAL_FASCN, guid, expiration: `${y}${m}${d}` };
}

/**
 * A Card Capability Container (Part 1 Table 8): a card identifier (GSC-RID A000000116, manufacturer
 * FF, card type 02 = Java card, 14 random bytes), container versions 21, and empty optional fields.
 */
export function encodeCcc(cardId: Uint8Array = Uint8Array.from(randomBytes(14))): Uint8Array {
  if (cardId.length !== 14) throw new RangeError('CCC card identifier must be 14 bytes');
  return concat(
    tlv(0xf0, concat(Uint8Array.of(0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02), cardId)),
    tlv(0xf1, [0x21]),
    tlv(0xf2, [0x21]),
    tlv(0xf3),
    tlv(0xf4, [0x00]),
    tlv(0xf5, [0x10]),
    tlv(0xf6),
    tlv(0xf7),
    tlv(0xfa),
    tlv(0xfb),
    tlv(0xfc),
    tlv(0xfd),
    tlv(0xfe),
  );
}
