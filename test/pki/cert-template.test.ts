// The fast signer against the checked @peculiar/x509 path: same inputs, byte-identical
// TBSCertificate; and openssl accepts both, with the PIV extensions where the profile says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, keyAlgorithmOf, spkiOf, type KeyAlgorithm } from '../../src/pki/algorithms.js';
import { CompiledProfile } from '../../src/pki/cert-template.js';
import { issueChecked, subjectAltNamesFor, type LeafInput } from '../../src/pki/leaf.js';
import {
  CERTIFICATE_PROFILE_NAMES,
  type CertificateProfileName,
} from '../../src/domain/credential-profile.js';
import { randomSerial } from '../../src/pki/serial.js';
import { certificateParts, type SigningCa } from '../../src/pki/signing-ca.js';
import { renderSubject } from '../../src/pki/subject.js';
import { alice, testFascn, testHierarchy } from './fixtures.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

function leafInput(
  profile: CertificateProfileName,
  subjectAlg: KeyAlgorithm,
  notAfter = new Date(Date.now() + 365 * 864e5),
): LeafInput {
  const keys = generateKeyPair(subjectAlg);
  return {
    profile,
    serial: randomSerial(),
    notBefore: new Date(),
    notAfter,
    subject: renderSubject(
      [
        { type: 'C', value: 'DE' },
        { type: 'O', value: 'Example Org' },
        { type: 'OU', value: '${properties.department}' },
        { type: 'CN', value: '${displayName}' },
        { type: 'E', value: '${email}' },
      ],
      alice,
    ),
    subjectAltNames: subjectAltNamesFor(profile, alice, { uuid: randomUUID(), fascn: testFascn }),
    spki: spkiOf(keys.publicKey),
    ecKey: keyAlgorithmOf(keys.publicKey)!.startsWith('ECC'),
    sid: alice.sid ?? null,
  };
}

describe.skipIf(!hasOpenssl)('compiled certificate template', () => {
  const ssl = new OpensslDir();
  afterAll(() => ssl.dispose());

  for (const caAlg of ['ECCP256', 'RSA2048', 'ECCP384'] as const) {
    describe(`issuing CA ${caAlg}`, () => {
      let root: SigningCa;
      let issuing: SigningCa;
      let issuingKey: CryptoKey;
      beforeAll(async () => {
        const h = await testHierarchy(caAlg);
        ({ root, issuing } = h);
        issuingKey = await h.issuingWebKey();
        ssl.file(`root-${caAlg}.pem`, toPem(root.certificateDer));
        ssl.file(`issuing-${caAlg}.pem`, toPem(issuing.certificateDer));
      });

      for (const profile of CERTIFICATE_PROFILE_NAMES) {
        for (const subjectAlg of ['ECCP256', 'RSA2048'] as const) {
          it(`${profile} for a ${subjectAlg} key: same TBS on both paths, both verify`, async () => {
            const input = leafInput(profile, subjectAlg);
            const checked = await issueChecked(issuing, issuingKey, input);
            const fast = await new CompiledProfile(issuing, profile, input.ecKey).issue(input);
            const a = certificateParts(checked);
            const b = certificateParts(fast);
            expect(b.tbs.toString('hex')).toBe(a.tbs.toString('hex'));
            for (const [name, der] of [
              ['checked', checked],
              ['fast', fast],
            ] as const) {
              const f = ssl.file(`${name}.pem`, toPem(der));
              const v = ssl.run([
                'verify',
                '-CAfile',
                `root-${caAlg}.pem`,
                '-untrusted',
                `issuing-${caAlg}.pem`,
                f,
              ]);
              expect(v.out).toContain(': OK');
              expect(v.status).toBe(0);
            }
            const text = ssl.runOk(['x509', '-in', 'fast.pem', '-noout', '-text', '-nameopt', 'utf8']);
            expect(text).toContain(`CA Issuers - URI:https://cms.example.test/pki/ca/${issuing.id}.crt`);
            expect(text).toContain('OCSP - URI:https://cms.example.test/pki/ocsp');
            expect(text).toContain(`URI:https://cms.example.test/pki/crl/${issuing.id}.crl`);
            expect(text).toContain('Alice Ångström');
            if (profile === 'piv_authentication') {
              expect(text).toMatch(
                /TLS Web Client Authentication, Microsoft Smartcard Login, PKINIT Client Auth/,
              );
              expect(text).toContain('1.3.6.1.4.1.311.25.2');
              expect(text).toMatch(/othername: UPN::?alice@corp.example.test/);
              expect(text).toContain('email:alice@example.test');
              expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
            }
            if (profile === 'card_authentication')
              expect(text).toMatch(/Extended Key Usage: critical\s+2\.16\.840\.1\.101\.3\.6\.8/);
            if (profile === 'digital_signature') {
              expect(text).toMatch(/Digital Signature, Non Repudiation/);
              expect(text).toContain('E-mail Protection');
            }
            if (profile === 'key_management')
              expect(text).toMatch(subjectAlg === 'RSA2048' ? /Key Encipherment/ : /Key Agreement/);
          });
        }
      }
    });
  }

  it('uses GeneralizedTime from 2050 on, identically on both paths', async () => {
    const h = await testHierarchy('ECCP256');
    const input = leafInput('digital_signature', 'ECCP256', new Date('2051-03-04T05:06:07.890Z'));
    const a = certificateParts(await issueChecked(h.issuing, await h.issuingWebKey(), input));
    const b = certificateParts(await new CompiledProfile(h.issuing, 'digital_signature', true).issue(input));
    expect(b.validity.toString('hex')).toBe(a.validity.toString('hex'));
    expect(b.validity.includes(Buffer.from('20510304050607Z'))).toBe(true);
  });

  it('serials are positive, 16 octets, unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = randomSerial();
      expect(s.length).toBe(16);
      expect(s[0]! & 0x80).toBe(0);
      expect(s[0]).not.toBe(0);
      seen.add(s.toString('hex'));
    }
    expect(seen.size).toBe(2000);
    expect(randomSerial(() => new Uint8Array(16))[0]).not.toBe(0);
  });
});
