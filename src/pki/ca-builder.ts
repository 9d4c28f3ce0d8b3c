// Creates Tessera's own CA hierarchy: a self-signed root and an issuing CA under it (RFC 5280
// §4.2.1.9 basicConstraints, §4.2.1.3 keyCertSign + cRLSign). The issuing CA also signs OCSP
// responses directly (RFC 6960 §4.2.2.2 "the CA who issued the certificate"), hence digitalSignature.
import type { KeyObject } from 'node:crypto';
import { generateKeyPair, signatureSchemeFor, spkiOf, type KeyAlgorithm } from './algorithms.js';
import { webCryptoKey, truncateToSeconds } from './leaf.js';
import { randomSerial } from './serial.js';
import { caUrls, signingCa, type SigningCa } from './signing-ca.js';
import { subjectNameDer, type RenderedAttribute } from './subject.js';
import { toArrayBuffer } from './der.js';
import { crypto, x509 } from './x509-lib.js';

export interface CaKeyAndCert {
  id: string;
  certificateDer: Buffer;
  privateKey: KeyObject;
}

export interface CreateHierarchyParams {
  rootId: string;
  issuingId: string;
  algorithm: KeyAlgorithm;
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

export async function createCaHierarchy(
  p: CreateHierarchyParams,
): Promise<{ root: CaKeyAndCert; issuing: CaKeyAndCert }> {
  const rootKeys = generateKeyPair(p.algorithm);
  const issuingKeys = generateKeyPair(p.algorithm);
  const scheme = signatureSchemeFor(p.algorithm);
  const notBefore = truncateToSeconds(new Date(p.now.getTime() - 60_000));
  const rootSpki = spkiOf(rootKeys.publicKey);
  const rootName = subjectNameDer(caName('Tessera Root CA', p.organization));
  const rootSigner = { privateKey: rootKeys.privateKey, keyAlgorithm: p.algorithm, scheme };
  const rootSki = await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(rootSpki), false, crypto);
  const rootCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: new x509.Name(toArrayBuffer(rootName)),
      issuer: new x509.Name(toArrayBuffer(rootName)),
      notBefore,
      notAfter: years(notBefore, p.rootValidityYears ?? 20),
      publicKey: toArrayBuffer(rootSpki),
      signingKey: await webCryptoKey(rootSigner),
      signingAlgorithm: scheme.webcrypto,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        rootSki,
      ],
    },
    crypto,
  );
  const root: CaKeyAndCert = {
    id: p.rootId,
    certificateDer: Buffer.from(rootCert.rawData),
    privateKey: rootKeys.privateKey,
  };
  const rootCa = signingCa({ ...root, externalUrl: p.externalUrl });
  const issuingCert = await signSubordinate(rootCa, {
    id: p.issuingId,
    name: caName('Tessera Issuing CA 1', p.organization),
    publicKey: issuingKeys.publicKey,
    notBefore,
    notAfter: years(notBefore, p.issuingValidityYears ?? 10),
  });
  return {
    root,
    issuing: { id: p.issuingId, certificateDer: issuingCert, privateKey: issuingKeys.privateKey },
  };
}

/** Signs a subordinate (issuing) CA certificate with pathLenConstraint 0 under `parent`. */
export async function signSubordinate(
  parent: SigningCa,
  sub: { id: string; name: RenderedAttribute[]; publicKey: KeyObject; notBefore: Date; notAfter: Date },
): Promise<Buffer> {
  const spki = spkiOf(sub.publicKey);
  const parentUrls = caUrls(parent.urls.ocsp.replace(/\/pki\/ocsp$/, ''), parent.id);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial().toString('hex'),
      subject: new x509.Name(toArrayBuffer(subjectNameDer(sub.name))),
      issuer: new x509.Name(toArrayBuffer(parent.subjectDer)),
      notBefore: sub.notBefore,
      notAfter: sub.notAfter,
      publicKey: toArrayBuffer(spki),
      signingKey: await webCryptoKey(parent),
      signingAlgorithm: parent.scheme.webcrypto,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(spki), false, crypto),
        new x509.AuthorityKeyIdentifierExtension(parent.keyIdentifier.toString('hex'), false),
        new x509.CRLDistributionPointsExtension([parentUrls.crl], false),
        new x509.AuthorityInfoAccessExtension({ caIssuers: [parentUrls.caIssuers] }, false),
      ],
    },
    crypto,
  );
  return Buffer.from(cert.rawData);
}
