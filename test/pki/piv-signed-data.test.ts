// signPivContent encodes the CHUID's and Security Object's SignedData directly in DER; the bytes
// are the ones the asn1-cms schema classes give for the same signer, content and signature
// (P-256, P-384 and RSA content signers, detached and encapsulated), and the checker accepts them.
// openssl cms verifies real signatures in content-signer-algorithm.test.ts and piv-conformance.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  id_signedData,
} from '@peculiar/asn1-cms';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { generateKeyPair, signatureSchemeFor, spkiOf, type KeyAlgorithm } from '../../src/pki/algorithms.js';
import { signContentSigner } from '../../src/pki/ca-builder.js';
import { TAG, tlv } from '../../src/pki/der.js';
import {
  PIV_CONTENT_OID,
  checkPivSignedData,
  contentSignerSubject,
  decodeLdsSecurityObject,
  encodeLdsSecurityObject,
  signPivContent,
} from '../../src/pki/piv-signed-data.js';
import { randomSerial } from '../../src/pki/serial.js';
import { SoftSigner, type Signer } from '../../src/pki/signer.js';
import { testHierarchy } from './fixtures.js';

const HASH_OID = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2' } as const;
const oidDer = (oid: string) => new asn1js.ObjectIdentifier({ value: oid }).toBER();

/** A signer whose "signature" is a hash of what it is given: both encoders get the same bytes. */
function fixedSigner(spki: Buffer): Signer {
  return { spki, sign: async (_alg, data) => createHash('sha512').update(data).digest() };
}

/** The SignedData of the same signer, content and signature through the asn1-cms classes. */
function reference(
  certificateDer: Buffer,
  alg: KeyAlgorithm,
  contentType: string,
  content: Uint8Array,
  detached: boolean,
): Buffer {
  const cert = AsnConvert.parse(certificateDer, Certificate);
  const scheme = signatureSchemeFor(alg);
  const digest = createHash(scheme.hash).update(content).digest();
  const attrs = [
    new Attribute({ attrType: '1.2.840.113549.1.9.3', attrValues: [oidDer(contentType)] }),
    new Attribute({
      attrType: '1.2.840.113549.1.9.4',
      attrValues: [new Uint8Array(tlv(TAG.OCTET_STRING, digest)).buffer],
    }),
    new Attribute({
      attrType: PIV_CONTENT_OID.pivSignerDn,
      attrValues: [AsnConvert.serialize(cert.tbsCertificate.subject)],
    }),
  ]
    .map((a) => ({ a, der: Buffer.from(AsnConvert.serialize(a)) }))
    .sort((x, y) => Buffer.compare(x.der, y.der));
  const signature = createHash('sha512')
    .update(tlv(TAG.SET, ...attrs.map((e) => e.der)))
    .digest();
  const digestAlgorithm = new AlgorithmIdentifier({ algorithm: HASH_OID[scheme.hash] });
  const signedData = new SignedData({
    version: 3,
    digestAlgorithms: new DigestAlgorithmIdentifiers([digestAlgorithm]),
    encapContentInfo: new EncapsulatedContentInfo({
      eContentType: contentType,
      ...(detached ? {} : { eContent: new EncapsulatedContent({ single: new OctetString(content) }) }),
    }),
    certificates: new CertificateSet([new CertificateChoices({ certificate: cert })]),
    signerInfos: new SignerInfos([
      new SignerInfo({
        version: 1,
        sid: new SignerIdentifier({
          issuerAndSerialNumber: new IssuerAndSerialNumber({
            issuer: cert.tbsCertificate.issuer,
            serialNumber: cert.tbsCertificate.serialNumber,
          }),
        }),
        digestAlgorithm,
        signedAttrs: attrs.map((e) => e.a),
        signatureAlgorithm: scheme.algorithmIdentifier,
        signature: new OctetString(signature),
      }),
    ]),
  });
  return Buffer.from(
    AsnConvert.serialize(
      new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) }),
    ),
  );
}

describe('PIV SignedData encoding', () => {
  for (const alg of ['ECCP256', 'ECCP384', 'RSA2048'] as const)
    it(`a ${alg} content signer: the bytes of the asn1-cms classes, detached and encapsulated; the checker accepts a real signature`, async () => {
      const { issuing } = await testHierarchy('ECCP384');
      const keys = generateKeyPair(alg);
      const certificateDer = await signContentSigner(issuing, {
        name: [
          { type: 'O', value: 'Example Org' },
          { type: 'CN', value: 'PIV Content Signer 2026-12-06' },
        ],
        spki: spkiOf(keys.publicKey),
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2030-01-01T00:00:00Z'),
        serial: randomSerial(),
      });
      const content = Buffer.from('30190a0b0c', 'hex');
      for (const [contentType, detached] of [
        [PIV_CONTENT_OID.chuidSecurityObject, true],
        [PIV_CONTENT_OID.ldsSecurityObject, false],
      ] as const) {
        const fixed = { signer: fixedSigner(spkiOf(keys.publicKey)), certificateDer };
        const ours = await signPivContent(fixed, contentType, content, { detached });
        expect(ours.toString('hex')).toBe(
          reference(certificateDer, alg, contentType, content, detached).toString('hex'),
        );
        const real = { signer: new SoftSigner(keys.privateKey), certificateDer };
        const signed = await signPivContent(real, contentType, content, { detached });
        const v = checkPivSignedData(signed, contentType, detached ? content : undefined);
        expect(v.problem).toBeNull();
        // The subject the issuance's own check reports for objects it wrote is the checker's.
        expect(v.signerSubject).toBe(contentSignerSubject(certificateDer));
        expect(v.signerSubject).toContain('PIV Content Signer 2026-12-06');
      }
    });
});

describe('LDSSecurityObject encoding', () => {
  /** The same object through asn1js's classes (how Tessera encoded it before it was DER-built). */
  const reference = (hash: 'sha256' | 'sha384', groups: { dataGroup: number; value: Uint8Array }[]) =>
    Buffer.from(
      new asn1js.Sequence({
        value: [
          new asn1js.Integer({ value: 0 }),
          new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: HASH_OID[hash] })] }),
          new asn1js.Sequence({
            value: groups.map(
              (g) =>
                new asn1js.Sequence({
                  value: [
                    new asn1js.Integer({ value: g.dataGroup }),
                    new asn1js.OctetString({ valueHex: createHash(hash).update(g.value).digest() }),
                  ],
                }),
            ),
          }),
        ],
      }).toBER(),
    );

  it('is byte for byte what asn1js encodes, and decodes back', () => {
    const chuid = Buffer.from('3019d4e739da739ced39ce739d836858210c2d82108c1c34', 'hex');
    for (const hash of ['sha256', 'sha384'] as const)
      for (const groups of [
        [{ dataGroup: 1, value: chuid }],
        [
          { dataGroup: 1, value: chuid },
          { dataGroup: 127, value: Buffer.from('a') },
          { dataGroup: 128, value: Buffer.alloc(0) },
          { dataGroup: 300, value: Buffer.alloc(2000, 7) },
        ],
      ]) {
        const ours = encodeLdsSecurityObject(hash, groups);
        expect(ours.toString('hex')).toBe(reference(hash, groups).toString('hex'));
        expect(decodeLdsSecurityObject(ours)).toEqual({
          hash,
          groups: groups.map((g) => ({
            dataGroup: g.dataGroup,
            hash: createHash(hash).update(g.value).digest(),
          })),
        });
      }
  });
});
