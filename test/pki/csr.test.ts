// PKCS#10 requests made by openssl: accepted when well signed, refused cleanly otherwise.
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { parseCsr } from '../../src/pki/csr.js';
import { verifyPossession } from '../../src/pki/possession.js';
import { OpensslDir, hasOpenssl } from './openssl.js';
import { ValidationError } from '../../src/domain/errors.js';

describe.skipIf(!hasOpenssl)('parseCsr', () => {
  const ssl = new OpensslDir();
  afterAll(() => ssl.dispose());
  const csr = (name: string, keyArgs: readonly string[]) => ssl.csr(name, keyArgs, '/CN=Someone');

  it.each([
    ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ECCP256'],
    ['p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ECCP384'],
    ['rsa2048', ['-newkey', 'rsa:2048'], 'RSA2048'],
    ['p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'], null],
  ] as const)('reads a %s request', (name, args, alg) => {
    const parsed = parseCsr(csr(name, [...args]));
    expect(parsed.keyAlgorithm).toBe(alg);
  });

  it('refuses a bad signature, truncated DER, trailing bytes and garbage', () => {
    const pem = csr('bad', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const tampered = Buffer.from(der);
    tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 0x01;
    expect(() => parseCsr(tampered)).toThrow(/signature does not verify/);
    // Change a byte inside the subject (signed data).
    const subj = Buffer.from(der);
    const at = subj.indexOf(Buffer.from('Someone'));
    subj[at] = 0x54;
    expect(() => parseCsr(subj)).toThrow(ValidationError);
    expect(() => parseCsr(der.subarray(0, der.length - 10))).toThrow(/not a well-formed PKCS#10/);
    expect(() => parseCsr(Buffer.concat([der, Buffer.from([0])]))).toThrow(/not a well-formed/);
    expect(() => parseCsr(Buffer.from('garbage'))).toThrow(ValidationError);
    expect(() => parseCsr('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toThrow(
      /PEM with label/,
    );
  });

  it('checks proof of possession by a signed challenge', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const challenge = Buffer.from('tessera challenge');
    expect(verifyPossession(publicKey, { challenge, signature: sign('sha256', challenge, privateKey) })).toBe(
      true,
    );
    const p1363 = sign('sha256', challenge, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verifyPossession(publicKey, { challenge, signature: p1363 })).toBe(true);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(
      verifyPossession(publicKey, { challenge, signature: sign('sha256', challenge, other.privateKey) }),
    ).toBe(false);
    expect(verifyPossession(publicKey, { challenge, signature: Buffer.from('junk') })).toBe(false);
  });
});
