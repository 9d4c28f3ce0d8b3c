// SubjectPublicKeyInfo made and read in JS (pki/algorithms.ts) is OpenSSL's: the same DER out for
// EC P-256/P-384 and RSA keys, the same key in; a point off the curve, a compressed point, a
// non-canonical RSA encoding and other key types go through (or are refused by) OpenSSL as before.
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { generateKeyPair, publicKeyFromSpki, spkiOf } from '../../src/pki/algorithms.js';

const opensslDer = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });

describe('SubjectPublicKeyInfo in JS', () => {
  it('EC P-256 / P-384 and RSA 2048-4096: the DER OpenSSL gives, read back as the same key', () => {
    for (const alg of ['ECCP256', 'ECCP384', 'RSA2048', 'RSA3072', 'RSA4096'] as const)
      for (let i = 0; i < (alg.startsWith('RSA') ? 1 : 20); i++) {
        const { publicKey, privateKey } = generateKeyPair(alg);
        const der = opensslDer(publicKey);
        expect(spkiOf(publicKey).toString('hex')).toBe(der.toString('hex'));
        // A private key's public half too (what a Signer carries).
        expect(spkiOf(createPublicKey(privateKey)).equals(der)).toBe(true);
        const back = publicKeyFromSpki(der);
        expect(back.equals(publicKey)).toBe(true);
        expect(back.asymmetricKeyDetails).toEqual(publicKey.asymmetricKeyDetails);
      }
    // An RSA exponent other than 65537, and a modulus whose top bit is set (a leading 00).
    const odd = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey;
    expect(spkiOf(odd).equals(opensslDer(odd))).toBe(true);
    expect(publicKeyFromSpki(opensslDer(odd)).equals(odd)).toBe(true);
  });

  it('other keys and encodings take OpenSSL’s path, and what it refuses is refused', () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(spkiOf(ed).equals(opensslDer(ed))).toBe(true);
    expect(publicKeyFromSpki(opensslDer(ed)).equals(ed)).toBe(true);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey;
    expect(publicKeyFromSpki(opensslDer(p521)).equals(p521)).toBe(true);
    // A P-256 point off the curve: refused, as OpenSSL refuses it.
    const good = opensslDer(generateKeyPair('ECCP256').publicKey);
    const off = Buffer.from(good);
    off[off.length - 1]! ^= 0x01;
    expect(() => createPublicKey({ key: off, format: 'der', type: 'spki' })).toThrow();
    expect(() => publicKeyFromSpki(off)).toThrow();
    // A compressed point: OpenSSL reads it.
    const ec = generateKeyPair('ECCP256').publicKey;
    const compressed = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      Buffer.of(2 + (opensslDer(ec)[90]! & 1)),
      opensslDer(ec).subarray(27, 59),
    ]);
    expect(publicKeyFromSpki(compressed).equals(ec)).toBe(true);
    // Cut short: refused.
    expect(() => publicKeyFromSpki(good.subarray(0, 60))).toThrow();
    const rsa = opensslDer(generateKeyPair('RSA2048').publicKey);
    expect(() => publicKeyFromSpki(rsa.subarray(0, rsa.length - 3))).toThrow();
  });
});
