// The facts the conformance check reads from a card's certificate, by walking the DER, are the ones
// the asn1-x509 schema classes read: for every profile Tessera issues (FASC-N, card UUID, UPN, SID,
// EKU criticality), CA and content-signer certificates, a notAfter past 2049 (GeneralizedTime),
// certificates openssl makes with names in other string types, and broken DER (both refuse).
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateKeyPair, keyAlgorithmOf, spkiOf, type KeyAlgorithm } from '../../src/pki/algorithms.js';
import { CompiledProfile } from '../../src/pki/cert-template.js';
import { subjectAltNamesFor, type LeafInput } from '../../src/pki/leaf.js';
import {
  CERTIFICATE_PROFILE_NAMES,
  type CertificateProfileName,
} from '../../src/domain/credential-profile.js';
import {
  parsedPivCertificateFacts,
  pivCertificateFacts,
  type PivCertificateFacts,
} from '../../src/pki/piv-certificate-facts.js';
import { signContentSigner } from '../../src/pki/ca-builder.js';
import { randomSerial } from '../../src/pki/serial.js';
import { renderSubject } from '../../src/pki/subject.js';
import { alice, testFascn, testHierarchy } from './fixtures.js';
import { OpensslDir, hasOpenssl } from './openssl.js';

function plain(f: PivCertificateFacts) {
  const { publicKey, ...rest } = f;
  return { ...rest, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('hex') };
}

function sameAsSchema(der: Uint8Array): PivCertificateFacts {
  const walked = pivCertificateFacts(der);
  expect(plain(walked)).toEqual(plain(parsedPivCertificateFacts(der)));
  return walked;
}

function leafInput(profile: CertificateProfileName, alg: KeyAlgorithm, notAfter: Date): LeafInput {
  const keys = generateKeyPair(alg);
  return {
    profile,
    serial: randomSerial(),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter,
    subject: renderSubject(
      [
        { type: 'C', value: 'DE' },
        { type: 'O', value: 'Example Org' },
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

describe('PIV certificate facts: the DER walk reads what the schema classes read', () => {
  it('every issued profile, EC and RSA keys, P-256 and RSA CAs, notAfter before and after 2050', async () => {
    for (const caAlg of ['ECCP256', 'RSA2048'] as const) {
      const { root, issuing } = await testHierarchy(caAlg);
      sameAsSchema(root.certificateDer);
      sameAsSchema(issuing.certificateDer);
      for (const profile of CERTIFICATE_PROFILE_NAMES)
        for (const alg of ['ECCP256', 'RSA2048'] as const)
          for (const notAfter of [new Date('2030-06-30T12:34:56Z'), new Date('2051-02-03T04:05:06Z')]) {
            const input = leafInput(profile, alg, notAfter);
            const f = sameAsSchema(await new CompiledProfile(issuing, profile, input.ecKey).issue(input));
            expect(f.notAfter.toISOString()).toBe(notAfter.toISOString());
          }
      const signer = generateKeyPair('ECCP256');
      sameAsSchema(
        await signContentSigner(issuing, {
          name: [{ type: 'CN', value: 'PIV Content Signer' }],
          spki: spkiOf(signer.publicKey),
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2030-01-01T00:00:00Z'),
          serial: randomSerial(),
        }),
      );
    }
  }, 120_000);

  it('the PIV Authentication facts: FASC-N, UUID, UPN, SID', async () => {
    const { issuing } = await testHierarchy('ECCP256');
    const input = leafInput('piv_authentication', 'ECCP256', new Date('2030-01-01T00:00:00Z'));
    const f = sameAsSchema(await new CompiledProfile(issuing, 'piv_authentication', true).issue(input));
    expect(f.fascn?.toString('hex')).toBe(input.subjectAltNames.find((s) => s.type === 'fascn')!.value);
    expect(f.uuid).toBe(input.subjectAltNames.find((s) => s.type === 'uri')!.value.slice(9));
    expect(f.upn).toBe(!!alice.upn);
    expect(f.sid).toBe(!!alice.sid);
    expect(f.publicKey.asymmetricKeyType).toBe('ec');
  });

  it('broken DER: both readings refuse it', async () => {
    const { issuing } = await testHierarchy('ECCP256');
    const der = Buffer.from(issuing.certificateDer);
    const cut = der.subarray(0, der.length - 7);
    expect(() => parsedPivCertificateFacts(cut)).toThrow();
    expect(() => pivCertificateFacts(cut)).toThrow();
  });

  describe.skipIf(!hasOpenssl)('certificates openssl makes', () => {
    const ssl = new OpensslDir();
    afterAll(() => ssl.dispose());
    // string_mask decides the string types of the names: utf8only gives UTF8String, default lets
    // openssl pick T61String or BMPString for non-ASCII characters (the walk leaves those to the
    // schema classes).
    const config = (mask: string) =>
      ssl.file(`${mask}.cnf`, `[req]\ndistinguished_name = dn\nstring_mask = ${mask}\n[dn]\n`);
    const cases: [string, string, string, string[]][] = [
      ['UTF-8 names, several values in one RDN', 'utf8only', '/O=Bär AG/CN=Jürgen+UID=j1', []],
      ['PrintableString names', 'default', '/C=DE/O=Example/CN=Plain Name', []],
      ['T61String / BMPString names', 'default', '/O=Bär AG/CN=Jürgen 漢字', []],
      [
        'SAN with a urn:uuid URI, a mail address and a DNS name; an EKU',
        'utf8only',
        '/CN=x',
        [
          '-addext',
          'subjectAltName=URI:urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E,email:a@b.test,DNS:b.test',
          '-addext',
          'extendedKeyUsage=critical,clientAuth,1.3.6.1.4.1.311.20.2.2',
        ],
      ],
    ];
    for (const [name, mask, subject, extra] of cases)
      it(name, () => {
        ssl.runOk([
          'req',
          '-x509',
          '-config',
          config(mask),
          '-utf8',
          '-multivalue-rdn',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'k.pem',
          '-days',
          '30',
          '-subj',
          subject,
          ...extra,
          '-outform',
          'DER',
          '-out',
          'c.der',
        ]);
        sameAsSchema(readFileSync(ssl.path('c.der')));
      });
  });
});
