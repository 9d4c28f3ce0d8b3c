// The card's cryptography on Node's crypto module: private keys stored as PKCS#8 DER in base64, the
// format virtual card files have always had, so existing cards keep working.
import {
  createCipheriv,
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  webcrypto,
  constants as cryptoConstants,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ALGORITHM, type AsymmetricAlgorithm, type ManagementKeyAlgorithm } from '../piv/constants.js';
import { bigFromBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import {
  BadKeyInput,
  type CardCrypto,
  type CardKeyPair,
  type KeyImport,
  type PublicKeyParts,
} from './card-crypto.js';
import { ecdsaSignDigest } from './ecdsa.js';
import { rsaJwkFromFactors } from './rsa.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const CIPHER: Record<ManagementKeyAlgorithm, string> = {
  0x03: 'des-ede3',
  0x08: 'aes-128-ecb',
  0x0a: 'aes-192-ecb',
  0x0c: 'aes-256-ecb',
};

const CURVE_OF = { prime256v1: 'P-256', secp384r1: 'P-384' } as const;
const ECDH_NAME = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' } as const;

function load(privateKey: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' });
}

function partsOf(key: KeyObject): PublicKeyParts {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'RSA') return { kind: 'rsa', n: fromBase64Url(jwk.n!), e: fromBase64Url(jwk.e!) };
  const curve = CURVE_OF[key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVE_OF];
  if (!curve) throw new BadKeyInput('unsupported curve');
  const point = new Uint8Array(1 + 2 * (curve === 'P-256' ? 32 : 48));
  point[0] = 4;
  point.set(fromBase64Url(jwk.x!), 1);
  point.set(fromBase64Url(jwk.y!), 1 + (point.length - 1) / 2);
  return { kind: 'ec', curve, point };
}

function pair(key: KeyObject): CardKeyPair {
  return {
    privateKey: key.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: partsOf(createPublicKey(key)),
  };
}

const scalar = (key: KeyObject): Uint8Array => fromBase64Url(key.export({ format: 'jwk' }).d ?? '');

export class NodeCardCrypto implements CardCrypto {
  readonly name = 'node';

  async blockEncrypt(alg: ManagementKeyAlgorithm, key: Uint8Array, block: Uint8Array): Promise<Uint8Array> {
    const c = createCipheriv(CIPHER[alg], key, null);
    c.setAutoPadding(false);
    return Uint8Array.from(Buffer.concat([c.update(block), c.final()]));
  }

  async generateKey(alg: AsymmetricAlgorithm): Promise<CardKeyPair> {
    const { privateKey } =
      alg === ALGORITHM.RSA_2048 || alg === ALGORITHM.RSA_1024
        ? await generateKeyPairAsync('rsa', {
            modulusLength: alg === ALGORITHM.RSA_2048 ? 2048 : 1024,
            publicExponent: 65537,
          })
        : await generateKeyPairAsync('ec', {
            namedCurve: alg === ALGORITHM.ECC_P384 ? 'secp384r1' : 'prime256v1',
          });
    return pair(privateKey);
  }

  async importKey(m: KeyImport): Promise<CardKeyPair> {
    if (m.kind === 'rsa') return pair(createPrivateKey({ key: { ...rsaJwkFromFactors(m) }, format: 'jwk' }));
    const ecdh = createECDH(ECDH_NAME[m.curve]);
    ecdh.setPrivateKey(Buffer.from(m.d));
    const point = ecdh.getPublicKey();
    const size = m.d.length;
    return pair(
      createPrivateKey({
        key: {
          kty: 'EC',
          crv: m.curve,
          d: toBase64Url(m.d),
          x: toBase64Url(point.subarray(1, 1 + size)),
          y: toBase64Url(point.subarray(1 + size)),
        },
        format: 'jwk',
      }),
    );
  }

  async publicKey(privateKey: string): Promise<PublicKeyParts> {
    return partsOf(createPublicKey(load(privateKey)));
  }

  async privateOperation(privateKey: string, input: Uint8Array): Promise<Uint8Array> {
    const key = load(privateKey);
    const parts = partsOf(createPublicKey(key));
    if (parts.kind === 'ec') return ecdsaSignDigest(parts.curve, scalar(key), input);
    // RSA: the host sends a block as long as the modulus, already padded (SP 800-73-4 Part 2
    // §3.2.4); the card applies the raw private-key operation.
    if (input.length !== (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
      throw new BadKeyInput('block size');
    if (bigFromBytes(input) >= bigFromBytes(parts.n)) throw new BadKeyInput('block ≥ modulus');
    return Uint8Array.from(privateDecrypt({ key, padding: cryptoConstants.RSA_NO_PADDING }, input));
  }

  async ecdh(privateKey: string, point: Uint8Array): Promise<Uint8Array> {
    const key = load(privateKey);
    const parts = partsOf(createPublicKey(key));
    if (parts.kind !== 'ec') throw new BadKeyInput('not an EC key');
    const ecdh = createECDH(ECDH_NAME[parts.curve]);
    ecdh.setPrivateKey(Buffer.from(scalar(key)));
    try {
      return Uint8Array.from(ecdh.computeSecret(Buffer.from(point)));
    } catch {
      throw new BadKeyInput('not a point on the curve');
    }
  }

  async attestationSigner(privateKey: string): Promise<CryptoKey> {
    return webcrypto.subtle.importKey(
      'pkcs8',
      Buffer.from(privateKey, 'base64'),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    ) as Promise<CryptoKey>;
  }
}
