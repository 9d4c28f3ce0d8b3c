// A CA ready to sign: its certificate, the raw pieces of it that every issued object repeats
// (subject Name as issuer, key identifier), its Signer and signature scheme, and the URLs of this
// server where relying parties fetch its CRL, its certificate and OCSP answers.
import { createHash } from 'node:crypto';
import {
  keyAlgorithmOf,
  publicKeyFromSpki,
  signatureSchemeFor,
  type KeyAlgorithm,
  type SignatureScheme,
} from './algorithms.js';
import { children, content, readTlv, slice } from './der.js';
import type { Signer } from './signer.js';

export interface CaUrls {
  /** CRL distribution point (RFC 5280 §4.2.1.13). */
  crl: string;
  /** AIA caIssuers: this CA's certificate, DER (RFC 5280 §4.2.2.1). */
  caIssuers: string;
  /** AIA OCSP responder (RFC 6960 §3.1). */
  ocsp: string;
}

export function caUrls(externalUrl: string, caId: string): CaUrls {
  const base = externalUrl.replace(/\/+$/, '');
  return {
    crl: `${base}/pki/crl/${caId}.crl`,
    caIssuers: `${base}/pki/ca/${caId}.crt`,
    ocsp: `${base}/pki/ocsp`,
  };
}

export interface SigningCa {
  id: string;
  certificateDer: Buffer;
  /** The CA's subject Name exactly as encoded in its certificate: the issuer of what it signs. */
  subjectDer: Buffer;
  /** SHA-1 of the CA's subjectPublicKey (RFC 5280 §4.2.1.2 method 1): AKI of what it signs. */
  keyIdentifier: Buffer;
  keyAlgorithm: KeyAlgorithm;
  signer: Signer;
  scheme: SignatureScheme;
  urls: CaUrls;
}

/** Raw DER slices of a certificate's TBSCertificate fields (RFC 5280 §4.1). */
export interface CertificateParts {
  tbs: Buffer;
  serial: Buffer;
  signatureAlgorithm: Buffer;
  issuer: Buffer;
  validity: Buffer;
  subject: Buffer;
  spki: Buffer;
  /** The subjectPublicKey BIT STRING's bits (without the unused-bits octet). */
  subjectPublicKey: Buffer;
  extensions: Buffer | null;
}

export function certificateParts(der: Uint8Array): CertificateParts {
  const cert = readTlv(der, 0);
  const [tbsT] = children(der, cert);
  if (!tbsT) throw new Error('Certificate has no TBSCertificate');
  const f = children(der, tbsT);
  const hasVersion = f[0]?.tag === 0xa0;
  const at = (i: number) => {
    const t = f[i + (hasVersion ? 1 : 0)];
    if (!t) throw new Error('Certificate is missing a TBSCertificate field');
    return t;
  };
  const spkiT = at(5);
  const spkiKids = children(der, spkiT);
  const bits = spkiKids[1];
  if (!bits) throw new Error('SubjectPublicKeyInfo has no key');
  const ext = f.find((t) => t.tag === 0xa3);
  return {
    tbs: slice(der, tbsT),
    serial: slice(der, at(0)),
    signatureAlgorithm: slice(der, at(1)),
    issuer: slice(der, at(2)),
    validity: slice(der, at(3)),
    subject: slice(der, at(4)),
    spki: slice(der, spkiT),
    subjectPublicKey: content(der, bits).subarray(1),
    extensions: ext ? slice(der, ext) : null,
  };
}

export function keyIdentifierOf(subjectPublicKey: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

/** The algorithm of a key by its SubjectPublicKeyInfo, or null when Tessera does not use it. */
export function keyAlgorithmOfSpki(spki: Uint8Array): KeyAlgorithm | null {
  return keyAlgorithmOf(publicKeyFromSpki(spki));
}

export function signingCa(args: {
  id: string;
  certificateDer: Uint8Array;
  signer: Signer;
  externalUrl: string;
}): SigningCa {
  const parts = certificateParts(args.certificateDer);
  // A key that does not belong to the certificate would sign objects nobody can verify.
  if (!parts.spki.equals(args.signer.spki))
    throw new Error(`The key of CA ${args.id} does not match its certificate`);
  const alg = keyAlgorithmOfSpki(parts.spki);
  if (!alg) throw new Error('The CA key algorithm is not supported (use P-256, P-384 or RSA 2048-4096)');
  return {
    id: args.id,
    certificateDer: Buffer.from(args.certificateDer),
    subjectDer: parts.subject,
    keyIdentifier: keyIdentifierOf(parts.subjectPublicKey),
    keyAlgorithm: alg,
    signer: args.signer,
    scheme: signatureSchemeFor(alg),
    urls: caUrls(args.externalUrl, args.id),
  };
}
