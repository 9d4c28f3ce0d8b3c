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
  /** Cardholder UUID (tag 36), optional. */
  cardholderUuid?: Uint8Array;
  /** The issuer asymmetric signature (tag 3E): CMS SignedData DER; empty when unsigned. */
  signature?: Uint8Array;
}

/**
 * The fields the CHUID's signature covers: every element but the signature and the error
 * detection code, as their TLVs in card order (SP 800-73-4 Part 1 §3.1.2, FIPS 201-3 §4.2.1).
 */
export function chuidSignedFields(c: Omit<Chuid, 'signature'>): Uint8Array {
  if (c.guid.length !== 16) throw new RangeError('CHUID GUID must be 16 bytes');
  if (!/^\d{8}$/.test(c.expiration)) throw new RangeError('CHUID expiration must be YYYYMMDD');
  return concat(
    tlv(0x30, c.fascn),
    tlv(0x34, c.guid),
    tlv(0x35, Buffer.from(c.expiration, 'ascii')),
    ...(c.cardholderUuid ? [tlv(0x36, c.cardholderUuid)] : []),
  );
}

export function encodeChuid(c: Chuid): Uint8Array {
  // Without a signature the field is present and empty (a CHUID not signed by a PIV issuer).
  return concat(chuidSignedFields(c), tlv(0x3e, c.signature ?? new Uint8Array(0)), tlv(0xfe));
}

export interface DecodedChuid extends Chuid {
  signature: Uint8Array;
  /** The bytes the signature covers, exactly as read from the card. */
  signedFields: Uint8Array;
}

export function decodeChuid(value: Uint8Array): DecodedChuid {
  const items = decodeTlvs(value);
  // The signed fields are the card's own bytes up to the signature (tag 3E), whatever they hold.
  let signedEnd = 0;
  for (let at = 0; at < value.length;) {
    // 3E and FE are one-byte tags.
    if (value[at] === 0x3e || value[at] === 0xfe) break;
    at += tlvLength(value, at);
    signedEnd = at;
  }
  const uuid = findTlv(items, 0x36);
  return {
    fascn: findTlv(items, 0x30) ?? new Uint8Array(0),
    guid: findTlv(items, 0x34) ?? new Uint8Array(0),
    expiration: Buffer.from(findTlv(items, 0x35) ?? new Uint8Array(0)).toString('ascii'),
    ...(uuid ? { cardholderUuid: uuid } : {}),
    signature: findTlv(items, 0x3e) ?? new Uint8Array(0),
    signedFields: value.subarray(0, signedEnd),
  };
}

/** Bytes of the one TLV at `at` (tag, length and value), for walking an already-checked object. */
function tlvLength(buf: Uint8Array, at: number): number {
  let i = at + 1;
  if ((buf[at]! & 0x1f) === 0x1f) while (buf[i++]! & 0x80);
  const first = buf[i++]!;
  if (first < 0x80) return i - at + first;
  let len = 0;
  for (let k = 0; k < (first & 0x7f); k++) len = len * 256 + buf[i++]!;
  return i - at + len;
}

/** Security Object container mapping (SP 800-73-4 Part 1 Table 12 / §3.1.3): data group → container ID. */
export const CONTAINER_ID = {
  CHUID: 0x3000,
  PRINTED: 0x3001,
  FINGERPRINTS: 0x6010,
  FACIAL: 0x6030,
} as const;

export interface SecurityObject {
  mapping: { dataGroup: number; containerId: number }[];
  /** The LDS Security Object: CMS SignedData DER (tag BB). */
  signedData: Uint8Array;
}

export function encodeSecurityObject(so: SecurityObject): Uint8Array {
  const map = concat(
    ...so.mapping.map((m) => Uint8Array.of(m.dataGroup, m.containerId >> 8, m.containerId & 0xff)),
  );
  return concat(tlv(0xba, map), tlv(0xbb, so.signedData), tlv(0xfe));
}

export function decodeSecurityObject(value: Uint8Array): SecurityObject {
  const items = decodeTlvs(value);
  const map = findTlv(items, 0xba) ?? new Uint8Array(0);
  const signedData = findTlv(items, 0xbb);
  if (!signedData) throw new CardProtocolError('Security Object lacks its signed data (tag BB)');
  if (map.length % 3 !== 0) throw new CardProtocolError('Security Object mapping is not in 3-byte entries');
  const mapping: SecurityObject['mapping'] = [];
  for (let i = 0; i < map.length; i += 3)
    mapping.push({ dataGroup: map[i]!, containerId: (map[i + 1]! << 8) | map[i + 2]! });
  return { mapping, signedData };
}

/**
 * The Key History object (SP 800-73-4 Part 1 Table 19): how many retired key-management keys the
 * card holds with their certificates on the card (C1) and off it (C2), and where the off-card ones
 * are (F3, a URL). Retired keys live in slots 82.. in order, those with on-card certificates first.
 */
export interface KeyHistory {
  onCardCertificates: number;
  offCardCertificates: number;
  offCardCertUrl?: string;
}

export function encodeKeyHistory(k: KeyHistory): Uint8Array {
  const n = k.onCardCertificates + k.offCardCertificates;
  if (!Number.isInteger(n) || n < 0 || n > 20) throw new RangeError('a card holds at most 20 retired keys');
  return concat(
    tlv(0xc1, [k.onCardCertificates]),
    tlv(0xc2, [k.offCardCertificates]),
    ...(k.offCardCertUrl ? [tlv(0xf3, Buffer.from(k.offCardCertUrl, 'ascii'))] : []),
    tlv(0xfe),
  );
}

export function decodeKeyHistory(value: Uint8Array): KeyHistory {
  const items = decodeTlvs(value);
  const url = findTlv(items, 0xf3);
  return {
    onCardCertificates: findTlv(items, 0xc1)?.[0] ?? 0,
    offCardCertificates: findTlv(items, 0xc2)?.[0] ?? 0,
    ...(url ? { offCardCertUrl: Buffer.from(url).toString('ascii') } : {}),
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
