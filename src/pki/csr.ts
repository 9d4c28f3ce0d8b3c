// PKCS#10 certification requests (RFC 2986): parsed through the @peculiar/asn1-csr schema,
// signature verified over the exact bytes of certificationRequestInfo (§4.2), key algorithm
// named so the caller can hold it against the policy. The subject the requester wrote is not
// trusted: Tessera builds subjects from the person's record.
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { ValidationError } from '../domain/errors.js';
import {
  digestForSignatureOid,
  keyAlgorithmOf,
  publicKeyFromSpki,
  verifySignature,
  type KeyAlgorithm,
} from './algorithms.js';
import { children, readTlv, slice } from './der.js';

export interface ParsedCsr {
  spki: Buffer;
  publicKey: KeyObject;
  /** null when the key is of a kind Tessera does not issue for (e.g. P-521, RSA 1024). */
  keyAlgorithm: KeyAlgorithm | null;
}

/** DER from DER bytes, or from PEM text ("CERTIFICATE REQUEST" or the older "NEW CERTIFICATE REQUEST"). */
export function pemOrDer(input: Uint8Array | string, labels: readonly string[]): Buffer {
  const text = typeof input === 'string' ? input : null;
  const asText = text ?? (input[0] === 0x2d ? Buffer.from(input).toString('latin1') : null);
  if (asText === null) return Buffer.from(input as Uint8Array);
  for (const label of labels) {
    const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(asText);
    if (m) return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  }
  throw new ValidationError(`Expected PEM with label ${labels.join(' or ')}`);
}

export function parseCsr(input: Uint8Array | string): ParsedCsr {
  const der = pemOrDer(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  let info: Buffer;
  let csr: CertificationRequest;
  try {
    const outer = readTlv(der, 0);
    if (outer.end !== der.length) throw new Error('trailing bytes after the request');
    const [infoT] = children(der, outer);
    if (!infoT) throw new Error('no certificationRequestInfo');
    info = slice(der, infoT);
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch (err) {
    throw new ValidationError('The certificate request is not a well-formed PKCS#10 request', {
      reason: (err as Error).message,
    });
  }
  const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyFromSpki(spki);
  } catch {
    throw new ValidationError('The certificate request carries a public key that cannot be read');
  }
  const sigOid = csr.signatureAlgorithm.algorithm;
  const digest = digestForSignatureOid(sigOid);
  if (!digest)
    throw new ValidationError('The certificate request is signed with an unsupported algorithm', {
      algorithm: sigOid,
    });
  if (!verifySignature(digest, publicKey, info, new Uint8Array(csr.signature)))
    throw new ValidationError(
      'The certificate request signature does not verify: it was not signed by its key',
    );
  return { spki, publicKey, keyAlgorithm: keyAlgorithmOf(publicKey) };
}
