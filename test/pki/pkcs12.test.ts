// PKCS#12 written by Tessera opens in openssl, and openssl's own PKCS#12 files import here.
import { afterAll, describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { exportPkcs12, importPkcs12 } from '../../src/pki/pkcs12.js';
import { certificateParts } from '../../src/pki/signing-ca.js';
import { spkiOf } from '../../src/pki/algorithms.js';
import { testHierarchy } from './fixtures.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

describe.skipIf(!hasOpenssl)('PKCS#12', () => {
  const ssl = new OpensslDir();
  afterAll(() => ssl.dispose());

  it('exports a key and chain that openssl reads with the password (and refuses without)', async () => {
    const { root, issuing, issuingKey } = await testHierarchy('ECCP256');
    const p12 = exportPkcs12({
      privateKey: issuingKey,
      certificates: [issuing.certificateDer, root.certificateDer],
      password: 'Tr0ub4dor&3',
      friendlyName: 'Tessera test',
    });
    ssl.file('out.p12', p12);
    const out = ssl.runOk(['pkcs12', '-in', 'out.p12', '-passin', 'pass:Tr0ub4dor&3', '-nodes']);
    expect(out).toContain('BEGIN PRIVATE KEY');
    expect(out.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(out).toContain('friendlyName: Tessera test');
    expect(ssl.run(['pkcs12', '-in', 'out.p12', '-passin', 'pass:wrong', '-nodes']).status).not.toBe(0);
    const back = importPkcs12(p12, 'Tr0ub4dor&3');
    expect(back.certificates[0]!.equals(issuing.certificateDer)).toBe(true);
    expect(
      spkiOf(createPublicKey(back.privateKey)).equals(certificateParts(issuing.certificateDer).spki),
    ).toBe(true);
    expect(() => importPkcs12(p12, 'nope')).toThrow(/password is wrong/);
    expect(() => importPkcs12(Buffer.from('junk'), 'x')).toThrow(/not a PKCS#12/);
  });

  it.each([
    ['default (AES, SHA-256 MAC)', []],
    ['3DES with SHA-1 MAC', ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1']],
  ] as const)('imports an openssl-made file: %s', async (_name, extra) => {
    const { root, issuing, issuingKey } = await testHierarchy('RSA2048');
    ssl.file('ca.pem', toPem(issuing.certificateDer) + toPem(root.certificateDer));
    ssl.file('ca.key', issuingKey.export({ type: 'pkcs8', format: 'pem' }));
    ssl.runOk([
      'pkcs12',
      '-export',
      '-in',
      'ca.pem',
      '-inkey',
      'ca.key',
      '-passout',
      'pass:secret',
      '-out',
      'in.p12',
      ...extra,
    ]);
    const p12 = Buffer.from(ssl.runOk(['base64', '-A', '-in', 'in.p12']), 'base64');
    const got = importPkcs12(p12, 'secret');
    expect(got.certificates[0]!.equals(issuing.certificateDer)).toBe(true);
    expect(got.certificates).toHaveLength(2);
    expect(
      got.privateKey
        .export({ type: 'pkcs8', format: 'der' })
        .equals(issuingKey.export({ type: 'pkcs8', format: 'der' })),
    ).toBe(true);
  });

  it('keeps a generated key usable', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => exportPkcs12({ privateKey, certificates: [], password: 'x' })).toThrow();
  });
});
