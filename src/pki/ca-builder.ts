// Creates Tessera's own CA hierarchy: a self-signed root and an issuing CA under it (RFC 5280
// §4.2.1.9 basicConstraints, §4.2.1.3 keyCertSign + cRLSign). OCSP answers are signed by a
// delegated responder (ocsp-signer-cert.ts); the issuing CA keeps digitalSignature so relying
// parties' answers signed by an earlier version (the CA itself) still verify.
// The keys are Signers the caller made (wherever the keys live); the certificates are assembled
// through the @peculiar/asn1-x509 schema classes and signed by the issuer's Signer.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate,
  Extension,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { signatureSchemeFor, type SignatureScheme } from './algorithms.js';
import { toArrayBuffer } from './der.js';
import { truncateToSeconds } from './leaf.js';
import { randomSerial } from './serial.js';
import type { Signer } from './signer.js';
import { keyAlgorithmOfSpki, signingCa, type SigningCa } from './signing-ca.js';
import { subjectNameDer, type RenderedAttribute } from './subject.js';
import { crypto, x509 } from './x509-lib.js';

export interface CreateHierarchyParams {
  root: { id: string; signer: Signer };
  issuing: { id: string; signer: Signer };
  /** Organisation placed in both CA names. */
  organization: string;
  externalUrl: string;
  now: Date;
  rootValidityYears?: number;
  issuingValidityYears?: number;
}

const years = (d: Date, n: number) => {
  const out = new Date(d);
  out.setUTCFullYear(out.getUTCFullYear() + n);
  return out;
};

function caName(cn: string, org: string): RenderedAttribute[] {
  return org
    ? [
        { type: 'O', value: org },
        { type: 'CN', value: cn },
      ]
    : [{ type: 'CN', value: cn }];
}

function schemeOf(signer: Signer): SignatureScheme {
  const alg = keyAlgorithmOfSpki(signer.spki);
  if (!alg) throw new Error('The CA key algorithm is not supported (use P-256, P-384 or RSA 2048-4096)');
  return signatureSchemeFor(alg);
}

/** The two CAs, ready to sign; their certificates are `root.certificateDer`, `issuing.certificateDer`. */
export async function createCaHierarchy(
  p: CreateHierarchyParams,
): Promise<{ root: SigningCa; issuing: SigningCa }> {
  const notBefore = truncateToSeconds(new Date(p.now.getTime() - 60_000));
  const rootName = subjectNameDer(caName('Tessera Root CA', p.organization));
  const rootSpki = p.root.signer.spki;
  const rootDer = await signCertificate(
    { subjectDer: rootName, signer: p.root.signer, scheme: schemeOf(p.root.signer) },
    {
      subject: rootName,
      spki: rootSpki,
      notBefore,
      notAfter: years(notBefore, p.rootValidityYears ?? 20),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(rootSpki), false, crypto),
      ],
    },
  );
  const root = signingCa({
    id: p.root.id,
    certificateDer: rootDer,
    signer: p.root.signer,
    externalUrl: p.externalUrl,
  });
  const issuingDer = await signSubordinate(root, {
    name: caName('Tessera Issuing CA 1', p.organization),
    spki: p.issuing.signer.spki,
    notBefore,
    notAfter: years(notBefore, p.issuingValidityYears ?? 10),
  });
  return {
    root,
    issuing: signingCa({
      id: p.issuing.id,
      certificateDer: issuingDer,
      signer: p.issuing.signer,
      externalUrl: p.externalUrl,
    }),
  };
}

/** Signs a subordinate (issuing) CA certificate with pathLenConstraint 0 under `parent`. */
export async function signSubordinate(
  parent: SigningCa,
  sub: { name: RenderedAttribute[]; spki: Buffer; notBefore: Date; notAfter: Date },
): Promise<Buffer> {
  return signCertificate(parent, {
    subject: subjectNameDer(sub.name),
    spki: sub.spki,
    notBefore: sub.notBefore,
    notAfter: sub.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(sub.spki), false, crypto),
      new x509.AuthorityKeyIdentifierExtension(parent.keyIdentifier.toString('hex'), false),
      new x509.CRLDistributionPointsExtension([parent.urls.crl], false),
      new x509.AuthorityInfoAccessExtension({ caIssuers: [parent.urls.caIssuers] }, false),
    ],
  });
}

/**
 * A PIV content signer's certificate (FIPS 201-3 §4.2.1): an end entity of the issuing CA whose
 * only purpose is id-PIV-content-signing (critical, as the FPKI content signing profile has it),
 * digitalSignature; its key signs each card's CHUID and Security Object.
 */
export async function signContentSigner(
  issuing: SigningCa,
  c: { name: RenderedAttribute[]; spki: Buffer; notBefore: Date; notAfter: Date; serial: Buffer },
): Promise<Buffer> {
  return signCertificate(issuing, {
    subject: subjectNameDer(c.name),
    spki: c.spki,
    notBefore: truncateToSeconds(c.notBefore),
    notAfter: truncateToSeconds(c.notAfter),
    serial: c.serial,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([PIV_CONTENT_SIGNING_EKU], true),
      await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(c.spki), false, crypto),
      new x509.AuthorityKeyIdentifierExtension(issuing.keyIdentifier.toString('hex'), false),
      new x509.CRLDistributionPointsExtension([issuing.urls.crl], false),
      new x509.AuthorityInfoAccessExtension(
        { ocsp: [issuing.urls.ocsp], caIssuers: [issuing.urls.caIssuers] },
        false,
      ),
    ],
  });
}

const PIV_CONTENT_SIGNING_EKU = '2.16.840.1.101.3.6.7';

/** TBSCertificate (RFC 5280 §4.1) through the schema classes, signed by the issuer's Signer. */
export async function signCertificate(
  issuer: Pick<SigningCa, 'subjectDer' | 'signer' | 'scheme'>,
  c: {
    subject: Buffer;
    spki: Buffer;
    notBefore: Date;
    notAfter: Date;
    extensions: x509.Extension[];
    serial?: Buffer;
  },
): Promise<Buffer> {
  const tbs = new TBSCertificate({
    version: Version.v3,
    // randomSerial() is positive with a non-zero first octet: already a minimal INTEGER.
    serialNumber: toArrayBuffer(c.serial ?? randomSerial()),
    signature: issuer.scheme.algorithmIdentifier,
    issuer: AsnConvert.parse(issuer.subjectDer, Name),
    validity: new Validity({ notBefore: c.notBefore, notAfter: c.notAfter }),
    subject: AsnConvert.parse(c.subject, Name),
    subjectPublicKeyInfo: AsnConvert.parse(c.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(c.extensions.map((e) => AsnConvert.parse(e.rawData, Extension))),
  });
  const signature = await issuer.signer.sign(issuer.scheme.algorithm, Buffer.from(AsnConvert.serialize(tbs)));
  return Buffer.from(
    AsnConvert.serialize(
      new Certificate({
        tbsCertificate: tbs,
        signatureAlgorithm: issuer.scheme.algorithmIdentifier,
        signatureValue: toArrayBuffer(signature),
      }),
    ),
  );
}
