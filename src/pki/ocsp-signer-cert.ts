// The delegated OCSP responder certificate (RFC 6960 §4.2.2.2): issued by a CA to a key that signs
// OCSP answers about that CA's certificates, so the CA key (P-384, perhaps in an HSM) stays out of
// the hot path and an answer costs one P-256 signature. It carries id-kp-OCSPSigning (the mark
// relying parties check) and id-pkix-ocsp-nocheck (§4.2.2.2.1: clients do not ask about the
// responder's own status), and lives only days: it is replaced long before it lapses.
import { signatureSchemeFor, type KeyAlgorithm, type SignatureScheme } from './algorithms.js';
import { signCertificate } from './ca-builder.js';
import { toArrayBuffer } from './der.js';
import { truncateToSeconds } from './leaf.js';
import type { Signer } from './signer.js';
import { certificateParts, keyAlgorithmOfSpki, keyIdentifierOf, type SigningCa } from './signing-ca.js';
import { subjectNameDer } from './subject.js';
import { crypto, x509 } from './x509-lib.js';

export const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
export const ID_PKIX_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** What signs OCSP answers for a CA: the CA itself, or its delegated responder. */
export interface OcspSigningKey {
  signer: Signer;
  scheme: SignatureScheme;
  /** SHA-1 of the signing key's subjectPublicKey: the responderID byKey (RFC 6960 §4.2.1). */
  keyIdentifier: Buffer;
  /** The certificate carried in each answer so the client can check the signature (§4.2.2.2). */
  certificateDer: Buffer;
  /** Not after this instant may it sign (its certificate's notAfter; far away for a CA). */
  notAfter: Date;
}

/** A CA that signs its own answers (the way before delegation; tests of the core use it). */
export function caAsOcspSigner(ca: SigningCa, notAfter = new Date(8.64e15)): OcspSigningKey {
  return {
    signer: ca.signer,
    scheme: ca.scheme,
    keyIdentifier: ca.keyIdentifier,
    certificateDer: ca.certificateDer,
    notAfter,
  };
}

/** The responder certificate for `spki`, issued by `ca`, valid from notBefore to notAfter. */
export async function issueOcspSignerCertificate(
  ca: SigningCa,
  r: { spki: Buffer; notBefore: Date; notAfter: Date },
): Promise<Buffer> {
  const cn = x509CommonName(ca);
  return signCertificate(ca, {
    subject: subjectNameDer([{ type: 'CN', value: `${cn} OCSP Responder`.slice(0, 64) }]),
    spki: r.spki,
    notBefore: truncateToSeconds(r.notBefore),
    notAfter: truncateToSeconds(r.notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([ID_KP_OCSP_SIGNING], false),
      // id-pkix-ocsp-nocheck: its value is NULL (RFC 6960 §4.2.2.2.1).
      new x509.Extension(ID_PKIX_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
      await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(r.spki), false, crypto),
      new x509.AuthorityKeyIdentifierExtension(ca.keyIdentifier.toString('hex'), false),
    ],
  });
}

/** A responder certificate and its key, ready to sign answers. */
export function ocspSigningKey(certificateDer: Buffer, signer: Signer): OcspSigningKey {
  const parts = certificateParts(certificateDer);
  if (!parts.spki.equals(signer.spki)) throw new Error('The OCSP signing key does not match its certificate');
  const alg = keyAlgorithmOfSpki(parts.spki);
  if (!alg) throw new Error('The OCSP signing key algorithm is not supported');
  return {
    signer,
    scheme: signatureSchemeFor(alg),
    keyIdentifier: keyIdentifierOf(parts.subjectPublicKey),
    certificateDer,
    notAfter: new x509.X509Certificate(toArrayBuffer(certificateDer)).notAfter,
  };
}

function x509CommonName(ca: SigningCa): string {
  const cert = new x509.X509Certificate(toArrayBuffer(ca.certificateDer));
  return cert.subjectName.getField('CN')[0] ?? 'Tessera CA';
}

export type { KeyAlgorithm };
