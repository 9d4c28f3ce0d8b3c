// A card key's public half in the shapes the card answers with: the children of a 7F49 template
// (SP 800-73-4 Part 2 Table 13), the SubjectPublicKeyInfo DER an attestation certificate carries,
// and the PIV algorithm identifier. Written out by hand so it runs in a browser as in Node.
import { ALGORITHM, TAG, type AsymmetricAlgorithm } from '../piv/constants.js';
import { concat, tlv } from '../tlv.js';
import type { PublicKeyParts } from './card-crypto.js';

const OID_EC_PUBLIC_KEY = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const OID_CURVE = {
  'P-256': Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  'P-384': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
};
const OID_RSA = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00);

export function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i += 1;
  return b.subarray(i);
}

function derInteger(v: Uint8Array): Uint8Array {
  const s = stripZeros(v);
  return tlv(0x02, s[0]! & 0x80 ? concat(Uint8Array.of(0), s) : s);
}

/** 81 modulus, 82 exponent for RSA; 86 uncompressed point for EC. */
export function templateChildren(k: PublicKeyParts): Uint8Array {
  if (k.kind === 'rsa')
    return concat(tlv(TAG.RSA_MODULUS, stripZeros(k.n)), tlv(TAG.RSA_EXPONENT, stripZeros(k.e)));
  return tlv(TAG.EC_POINT, k.point);
}

export function spkiOf(k: PublicKeyParts): Uint8Array {
  if (k.kind === 'ec') {
    return tlv(
      0x30,
      concat(
        tlv(0x30, concat(OID_EC_PUBLIC_KEY, OID_CURVE[k.curve])),
        tlv(0x03, concat(Uint8Array.of(0), k.point)),
      ),
    );
  }
  const rsaKey = tlv(0x30, concat(derInteger(k.n), derInteger(k.e)));
  return tlv(0x30, concat(tlv(0x30, OID_RSA), tlv(0x03, concat(Uint8Array.of(0), rsaKey))));
}

export function algorithmOfParts(k: PublicKeyParts): AsymmetricAlgorithm | undefined {
  if (k.kind === 'ec') return k.curve === 'P-256' ? ALGORITHM.ECC_P256 : ALGORITHM.ECC_P384;
  const bits = stripZeros(k.n).length * 8;
  if (bits === 2048) return ALGORITHM.RSA_2048;
  if (bits === 1024) return ALGORITHM.RSA_1024;
  return undefined;
}

/** The modulus length in bytes of an RSA key (the size of the block the raw operation takes). */
export const rsaSize = (k: PublicKeyParts): number => (k.kind === 'rsa' ? stripZeros(k.n).length : 0);
