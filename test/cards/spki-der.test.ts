// The SubjectPublicKeyInfo the PIV client gives for a key a card generated is OpenSSL's DER, byte
// for byte, for every key a PIV slot holds (P-256, P-384, RSA 1024/2048).
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { spkiDer } from '../../src/cards/piv/crypto.js';

describe('spkiDer', () => {
  it('equals OpenSSL’s DER for EC P-256 / P-384 and RSA 1024 / 2048 keys, and for other keys', () => {
    const keys = [
      ...Array.from({ length: 20 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
      ...Array.from({ length: 20 }, () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey),
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
    ];
    for (const k of keys) {
      const der = k.export({ format: 'der', type: 'spki' });
      expect(Buffer.from(spkiDer(k)).toString('hex')).toBe(der.toString('hex'));
      expect(createPublicKey({ key: Buffer.from(spkiDer(k)), format: 'der', type: 'spki' }).equals(k)).toBe(
        true,
      );
    }
  });
});
