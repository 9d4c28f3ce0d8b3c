// The four PIV certificate profiles as issued by the CA's use case (default policies: Tessera's
// private arc), parsed from DER extension by extension against what FIPS 201-3, the FPKI PIV
// profile worksheets and Microsoft's smart card logon rules ask, and printed by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1js from 'asn1js';
import {
  Certificate,
  CertificatePolicies,
  ExtendedKeyUsage,
  GeneralNames,
  KeyUsage,
  type Extension,
} from '@peculiar/asn1-x509';
import { decodeFascn } from '../../src/domain/fascn.js';
import type { CertificateProfileName } from '../../src/domain/credential-profile.js';
import { DEMO_CERTIFICATE_POLICIES, EKU, PIV_OID } from '../../src/pki/profiles.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { seedPerson } from '../support/seed.js';
import { testFascn, testPki } from './fixtures.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const SLOT: Record<CertificateProfileName, string> = {
  piv_authentication: '9a',
  digital_signature: '9c',
  key_management: '9d',
  card_authentication: '9e',
};

function extensions(der: Uint8Array): Map<string, Extension> {
  const cert = AsnConvert.parse(der, Certificate);
  return new Map((cert.tbsCertificate.extensions ?? []).map((e) => [e.extnID, e]));
}

interface SanView {
  fascn: Uint8Array[];
  upn: string[];
  uri: string[];
  email: string[];
  other: string[];
}

function san(ext: Extension | undefined): SanView {
  const out: SanView = { fascn: [], upn: [], uri: [], email: [], other: [] };
  if (!ext) return out;
  for (const g of AsnConvert.parse(ext.extnValue, GeneralNames)) {
    if (g.otherName?.typeId === PIV_OID.fascnOtherName)
      out.fascn.push(new Uint8Array(AsnConvert.parse(g.otherName.value, OctetString).buffer));
    else if (g.otherName?.typeId === PIV_OID.upnOtherName) {
      const v = asn1js.fromBER(g.otherName.value).result;
      expect(v).toBeInstanceOf(asn1js.Utf8String); // Microsoft: UTF8String
      out.upn.push((v as asn1js.Utf8String).valueBlock.value);
    } else if (g.uniformResourceIdentifier) out.uri.push(g.uniformResourceIdentifier);
    else if (g.rfc822Name) out.email.push(g.rfc822Name);
    else out.other.push(JSON.stringify(g));
  }
  return out;
}

describe.skipIf(!hasOpenssl)('PIV certificate profiles, parsed from DER', () => {
  const ssl = new OpensslDir();
  let t: TestDb;
  let pki: Pki;
  let person: Awaited<ReturnType<typeof seedPerson>>;
  const cardUuid = randomUUID();

  beforeAll(async () => {
    t = await openTestDb('pglite');
    pki = testPki(t.db, { now: () => new Date() });
    const { issuingCaId } = await pki.cas.ensureHierarchy();
    ssl.file('chain.pem', await pki.cas.chainPem(issuingCaId));
    person = await seedPerson(t.db);
  }, 120_000);
  afterAll(async () => {
    ssl.dispose();
    await t?.drop();
  });

  async function issue(
    profile: CertificateProfileName,
    user: Partial<IssueTarget['user']> = {},
    keyAlgorithm: 'ECCP256' | 'RSA2048' = 'ECCP256',
  ): Promise<Buffer> {
    const keys =
      keyAlgorithm === 'ECCP256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const challenge = Buffer.from('challenge');
    const c = await pki.issuer.issueForPublicKey(
      { id: null, name: 'test', roles: ['admin'] },
      {
        user: {
          id: person.userId,
          username: 'alice',
          displayName: 'Alice Ångström',
          email: 'alice@example.test',
          upn: 'alice@corp.example.test',
          sid: SID,
          properties: {},
          ...user,
        },
        profile: { certificateProfile: profile, keyAlgorithm, validityDays: 365, slot: SLOT[profile] },
        deviceId: person.deviceId,
        cardUuid,
        fascn: testFascn,
      },
      keys.publicKey.export({ type: 'spki', format: 'der' }),
      { challenge, signature: sign('sha256', challenge, keys.privateKey) },
    );
    const der = Buffer.from((await pki.certificates.pem(c.id)).replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const f = ssl.file(`${profile}.pem`, toPem(der));
    // The text an auditor reads, in the test output.
    console.log(ssl.runOk(['x509', '-in', f, '-noout', '-text', '-nameopt', 'utf8']));
    expect(ssl.run(['verify', '-CAfile', 'chain.pem', f]).out).toContain(': OK');
    return der;
  }

  const policiesOf = (e: Extension | undefined) =>
    e ? AsnConvert.parse(e.extnValue, CertificatePolicies).map((p) => p.policyIdentifier) : [];
  const ekuOf = (e: Extension) => [...AsnConvert.parse(e.extnValue, ExtendedKeyUsage)];

  it('PIV Authentication (9A): FASC-N, UUID, UPN, e-mail; clientAuth, smart card logon, PKINIT; SID; policy', async () => {
    const ext = extensions(await issue('piv_authentication'));
    const ku = ext.get('2.5.29.15')!;
    expect(ku.critical).toBe(true);
    expect(AsnConvert.parse(ku.extnValue, KeyUsage).toJSON()).toEqual(['digitalSignature']);
    const eku = ext.get('2.5.29.37')!;
    expect(eku.critical).toBe(false);
    expect(ekuOf(eku)).toEqual([EKU.clientAuth, EKU.smartcardLogon, EKU.pkinitClientAuth]);
    const names = san(ext.get('2.5.29.17'));
    expect(ext.get('2.5.29.17')!.critical).toBe(false);
    expect(names.fascn).toHaveLength(1);
    expect(decodeFascn(names.fascn[0]!)).toMatchObject({
      agencyCode: '1234',
      systemCode: '5678',
      credentialNumber: '000042',
    });
    expect(names.uri).toEqual([`urn:uuid:${cardUuid}`]);
    expect(names.upn).toEqual(['alice@corp.example.test']);
    expect(names.email).toEqual(['alice@example.test']);
    expect(names.other).toEqual([]);
    expect(policiesOf(ext.get('2.5.29.32'))).toEqual(DEMO_CERTIFICATE_POLICIES.piv_authentication);
    // KB5014754: GeneralNames { otherName { 1.3.6.1.4.1.311.25.2.1, [0] OCTET STRING "S-1-…" } }.
    const sidExt = ext.get(PIV_OID.ntdsCaSecurityExt)!;
    expect(sidExt.critical).toBe(false);
    const [g] = AsnConvert.parse(sidExt.extnValue, GeneralNames);
    expect(g!.otherName!.typeId).toBe(PIV_OID.ntdsObjectSid);
    expect(Buffer.from(AsnConvert.parse(g!.otherName!.value, OctetString).buffer).toString('ascii')).toBe(
      SID,
    );
    for (const oid of ['2.5.29.14', '2.5.29.35', '2.5.29.31', '1.3.6.1.5.5.7.1.1'])
      expect(ext.has(oid)).toBe(true);
  });

  it('a person without a UPN or SID gets neither (no UPN made up from the mail address)', async () => {
    const ext = extensions(await issue('piv_authentication', { upn: null, sid: null }));
    expect(san(ext.get('2.5.29.17')).upn).toEqual([]);
    expect(ext.has(PIV_OID.ntdsCaSecurityExt)).toBe(false);
  });

  it('refuses a SID that is not one, rather than write it', async () => {
    await expect(issue('piv_authentication', { sid: 'S-1-5-21-x' })).rejects.toThrow(/not a Windows SID/);
  });

  it('Card Authentication (9E): critical EKU id-PIV-cardAuth; FASC-N and UUID only; policy', async () => {
    const ext = extensions(await issue('card_authentication'));
    const eku = ext.get('2.5.29.37')!;
    expect(eku.critical).toBe(true);
    expect(ekuOf(eku)).toEqual([EKU.pivCardAuth]);
    const names = san(ext.get('2.5.29.17'));
    expect(names.fascn.map((f) => Buffer.from(f).toString('hex'))).toEqual([
      Buffer.from(testFascn).toString('hex'),
    ]);
    expect(names.uri).toEqual([`urn:uuid:${cardUuid}`]);
    expect([...names.upn, ...names.email, ...names.other]).toEqual([]);
    expect(policiesOf(ext.get('2.5.29.32'))).toEqual(DEMO_CERTIFICATE_POLICIES.card_authentication);
    expect(ext.has(PIV_OID.ntdsCaSecurityExt)).toBe(false);
  });

  it('Digital Signature (9C): non-repudiation; S/MIME and document signing purposes; policy', async () => {
    const ext = extensions(await issue('digital_signature'));
    expect(AsnConvert.parse(ext.get('2.5.29.15')!.extnValue, KeyUsage).toJSON()).toEqual([
      'digitalSignature',
      'nonRepudiation',
    ]);
    expect(ekuOf(ext.get('2.5.29.37')!)).toEqual([
      EKU.emailProtection,
      EKU.documentSigning,
      EKU.msDocumentSigning,
      EKU.adobeAuthenticDocuments,
    ]);
    expect(san(ext.get('2.5.29.17'))).toMatchObject({ email: ['alice@example.test'], fascn: [], upn: [] });
    expect(policiesOf(ext.get('2.5.29.32'))).toEqual(DEMO_CERTIFICATE_POLICIES.digital_signature);
  });

  it('Key Management (9D): keyEncipherment for RSA, keyAgreement for EC; S/MIME and EFS; policy', async () => {
    for (const [alg, usage] of [
      ['RSA2048', 'keyEncipherment'],
      ['ECCP256', 'keyAgreement'],
    ] as const) {
      const ext = extensions(await issue('key_management', {}, alg));
      expect(AsnConvert.parse(ext.get('2.5.29.15')!.extnValue, KeyUsage).toJSON()).toEqual([usage]);
      expect(ekuOf(ext.get('2.5.29.37')!)).toEqual([EKU.emailProtection, EKU.msEfs]);
      expect(policiesOf(ext.get('2.5.29.32'))).toEqual(DEMO_CERTIFICATE_POLICIES.key_management);
    }
  });
});
