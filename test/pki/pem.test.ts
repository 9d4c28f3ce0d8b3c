// PEM (RFC 7468) written and read in one place: round trips, several blocks, labels, and the
// refusals that name what was expected.
import { describe, expect, it } from 'vitest';
import { isEncryptedKeyPem, pemBlocks, pemOrDer, toPem, toPemChain } from '../../src/pki/pem.js';

const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('PEM', () => {
  it.each([0, 1, 47, 48, 49, 200])('writes %i bytes in 64-character lines and reads them back', (n) => {
    const der = bytes(n);
    const pem = toPem(der);
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-2)).toBe('-----END CERTIFICATE-----');
    expect(lines.at(-1)).toBe('');
    for (const l of lines.slice(1, -2)) expect(l.length).toBeLessThanOrEqual(64);
    expect(pemBlocks(pem)).toEqual([der]);
  });

  it('reads a chain in order, only the blocks of the asked label, ignoring text around them', () => {
    const [a, b] = [bytes(70, 2), bytes(90, 3)];
    const text = `subject=CN=a\n${toPem(a)}junk between\n${toPem(bytes(10), 'PRIVATE KEY')}${toPem(b)}`;
    expect(pemBlocks(text)).toEqual([a, b]);
    expect(pemBlocks(text, 'PRIVATE KEY')).toEqual([bytes(10)]);
    expect(pemBlocks(toPemChain([a, b]))).toEqual([a, b]);
    expect(pemBlocks('no pem here')).toEqual([]);
  });

  it('takes DER as it is and PEM by any of its labels, as text or bytes', () => {
    const der = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]);
    expect(pemOrDer(der, ['CERTIFICATE REQUEST'])).toEqual(der);
    const pem = toPem(der, 'NEW CERTIFICATE REQUEST');
    expect(pemOrDer(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'])).toEqual(der);
    expect(pemOrDer(Buffer.from(pem), ['NEW CERTIFICATE REQUEST'])).toEqual(der);
    expect(() => pemOrDer(toPem(der, 'X509 CRL'), ['PUBLIC KEY'])).toThrow(
      /Expected PEM with label PUBLIC KEY/,
    );
  });

  it('tells encrypted private keys (PKCS#8 and legacy OpenSSL) from plain ones', () => {
    expect(isEncryptedKeyPem(toPem(bytes(10), 'ENCRYPTED PRIVATE KEY'))).toBe(true);
    expect(isEncryptedKeyPem('-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n')).toBe(true);
    expect(isEncryptedKeyPem(toPem(bytes(10), 'PRIVATE KEY'))).toBe(false);
  });
});
