// Cryptographic building blocks shared by the PIV client and the emulator, all on Node's crypto:
// single-block 3DES/AES for management-key authentication (SP 800-73-4 Part 2 Appendix A.1), and
// the conversion between PIV public-key templates (tag 7F49, Part 2 Table 13) and SPKI DER.
import { createCipheriv, createDecipheriv, createPublicKey, type KeyObject } from 'node:crypto';
import { CardProtocolError } from '../errors.js';
import { type Tlv, concat, tlv } from '../tlv.js';
import type { AsymmetricAlgorithm, ManagementKeyAlgorithm } from './constants.js';
import { ALGORITHM, MANAGEMENT_KEY_LENGTH, TAG } from './constants.js';
import { spkiOf as spkiOfParts } from '../emulator/public-key.js';

const CIPHER: Record<ManagementKeyAlgorithm, string> = {
  0x03: 'des-ede3',
  0x08: 'aes-128-ecb',
  0x0a: 'aes-192-ecb',
  0x0c: 'aes-256-ecb',
};

export function challengeLength(alg: ManagementKeyAlgorithm): number {
  return alg === ALGORITHM.TDEA_3KEY ? 8 : 16;
}

function checkKey(alg: ManagementKeyAlgorithm, key: Uint8Array): void {
  if (key.length !== MANAGEMENT_KEY_LENGTH[alg]) {
    throw new RangeError(
      `management key for algorithm ${alg} must be ${MANAGEMENT_KEY_LENGTH[alg]} bytes, got ${key.length}`,
    );
  }
}

/** Encrypts or decrypts exactly one cipher block with the management key, ECB, no padding. */
export function blockCipher(
  alg: ManagementKeyAlgorithm,
  key: Uint8Array,
  block: Uint8Array,
  direction: 'encrypt' | 'decrypt',
): Uint8Array {
  checkKey(alg, key);
  if (block.length !== challengeLength(alg)) {
    throw new RangeError(`block must be ${challengeLength(alg)} bytes, got ${block.length}`);
  }
  const c =
    direction === 'encrypt'
      ? createCipheriv(CIPHER[alg], key, null)
      : createDecipheriv(CIPHER[alg], key, null);
  c.setAutoPadding(false);
  return Uint8Array.from(Buffer.concat([c.update(block), c.final()]));
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const unb64u = (s: string | undefined): Uint8Array => Uint8Array.from(Buffer.from(s ?? '', 'base64url'));

export const CURVE: Record<number, { name: 'P-256' | 'P-384'; size: number }> = {
  [ALGORITHM.ECC_P256]: { name: 'P-256', size: 32 },
  [ALGORITHM.ECC_P384]: { name: 'P-384', size: 48 },
};

/** Builds a public key from the children of a 7F49 template (81/82 for RSA, 86 for EC). */
export function publicKeyFromTemplate(alg: AsymmetricAlgorithm, children: readonly Tlv[]): KeyObject {
  const get = (tag: number): Uint8Array | undefined => children.find((t) => t.tag === tag)?.value;
  try {
    if (alg === ALGORITHM.RSA_1024 || alg === ALGORITHM.RSA_2048) {
      const n = get(TAG.RSA_MODULUS);
      const e = get(TAG.RSA_EXPONENT);
      if (!n || !e) throw new CardProtocolError('RSA public key template lacks modulus or exponent');
      const expectBits = alg === ALGORITHM.RSA_2048 ? 2048 : 1024;
      const nn = stripLeadingZeros(n);
      if (nn.length * 8 !== expectBits) {
        throw new CardProtocolError(`RSA modulus is ${nn.length * 8} bits, expected ${expectBits}`);
      }
      return createPublicKey({
        key: { kty: 'RSA', n: b64u(nn), e: b64u(stripLeadingZeros(e)) },
        format: 'jwk',
      });
    }
    const curve = CURVE[alg];
    const p = get(TAG.EC_POINT);
    if (!curve || !p) throw new CardProtocolError('EC public key template lacks the point (tag 86)');
    if (p.length !== 1 + 2 * curve.size || p[0] !== 0x04) {
      throw new CardProtocolError(
        `EC point has ${p.length} bytes, expected an uncompressed ${curve.name} point`,
      );
    }
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: curve.name,
        x: b64u(p.subarray(1, 1 + curve.size)),
        y: b64u(p.subarray(1 + curve.size)),
      },
      format: 'jwk',
    });
  } catch (e) {
    if (e instanceof CardProtocolError) throw e;
    throw new CardProtocolError('The card returned a public key that does not parse', {
      reason: (e as Error).message,
    });
  }
}

function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i += 1;
  return b.subarray(i);
}

/** The PIV algorithm identifier of a public or private key, or undefined when PIV has none. */
export function algorithmOfKey(key: KeyObject): AsymmetricAlgorithm | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    if (d?.modulusLength === 2048) return ALGORITHM.RSA_2048;
    if (d?.modulusLength === 1024) return ALGORITHM.RSA_1024;
    return undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return ALGORITHM.ECC_P256;
    if (d?.namedCurve === 'secp384r1') return ALGORITHM.ECC_P384;
  }
  return undefined;
}

/** The children of a 7F49 template for `key` (81 n, 82 e for RSA; 86 point for EC). */
export function templateChildren(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA')
    return concat(tlv(TAG.RSA_MODULUS, unb64u(jwk.n)), tlv(TAG.RSA_EXPONENT, unb64u(jwk.e)));
  return tlv(TAG.EC_POINT, concat(Uint8Array.of(4), unb64u(jwk.x), unb64u(jwk.y)));
}

/**
 * The key's SubjectPublicKeyInfo DER, OpenSSL's bytes, encoded here from its JWK form: OpenSSL's
 * DER encoder costs ~0.2 ms a call against ~0.01 ms for the JWK export, once per key a card makes
 * at every issuance (`npm run bench -- agents`). Other keys go through OpenSSL.
 */
export function spkiDer(key: KeyObject): Uint8Array {
  const jwk = key.type === 'public' ? key.export({ format: 'jwk' }) : undefined;
  if (jwk?.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384') && jwk.x && jwk.y) {
    const x = unb64u(jwk.x);
    const y = unb64u(jwk.y);
    const size = jwk.crv === 'P-256' ? 32 : 48;
    if (x.length === size && y.length === size)
      return spkiOfParts({ kind: 'ec', curve: jwk.crv, point: concat(Uint8Array.of(4), x, y) });
  } else if (jwk?.kty === 'RSA' && jwk.n && jwk.e)
    return spkiOfParts({ kind: 'rsa', n: unb64u(jwk.n), e: unb64u(jwk.e) });
  return Uint8Array.from(key.export({ format: 'der', type: 'spki' }));
}
