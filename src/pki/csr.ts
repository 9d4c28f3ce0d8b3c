// PKCS#10 certification requests (RFC 2986): walked field by field (this is on the issuance hot
// path: the generic schema parser costs ~1 ms per request), signature verified over the exact
// bytes of certificationRequestInfo (§4.2), key algorithm named so the caller can hold it against
// the policy. The subject the requester wrote is not
// trusted: Tessera builds subjects from the person's record.
import type { KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { ValidationError } from '../domain/errors.js';
import {
  digestForSignatureOid,
  keyAlgorithmOf,
  publicKeyFromSpki,
  verifySignature,
  type KeyAlgorithm,
} from './algorithms.js';
import { children, content, readTlv, slice, type Tlv } from './der.js';
import { pemOrDer } from './pem.js';

export interface ParsedCsr {
  spki: Buffer;
  publicKey: KeyObject;
  /** null when the key is of a kind Tessera does not issue for (e.g. P-521, RSA 1024). */
  keyAlgorithm: KeyAlgorithm | null;
}

/**
 * Identifies the key algorithm from the SPKI's own bytes: the two named-curve encodings are
 * fixed (RFC 5480 §2), and an RSA key's size is its modulus length (RFC 8017 A.1.1). Cheaper than
 * asking a KeyObject for its details on every request.
 */
function keyAlgorithmFromSpki(spki: Buffer, key: KeyObject): KeyAlgorithm | null {
  if (spki.subarray(0, SPKI_P256.length).equals(SPKI_P256)) return 'ECCP256';
  if (spki.subarray(0, SPKI_P384.length).equals(SPKI_P384)) return 'ECCP384';
  return keyAlgorithmOf(key);
}

/** The common signature AlgorithmIdentifiers, by their DER (RSA with and without NULL params). */
const KNOWN_SIGNATURE_ALGORITHMS = new Map(
  [
    '300a06082a8648ce3d040302',
    '300a06082a8648ce3d040303',
    '300a06082a8648ce3d040304',
    '300d06092a864886f70d01010b0500',
    '300d06092a864886f70d01010c0500',
    '300d06092a864886f70d01010d0500',
    '300b06092a864886f70d01010b',
    '300b06092a864886f70d01010c',
    '300b06092a864886f70d01010d',
  ].map((hex) => [hex, AsnConvert.parse(Buffer.from(hex, 'hex'), AlgorithmIdentifier)] as const),
);

const SPKI_P256 = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const SPKI_P384 = Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex');

/**
 * Parses and verifies a PKCS#10 request. The structure is walked TLV by TLV (RFC 2986 §4:
 * SEQUENCE { certificationRequestInfo SEQUENCE { version, subject, subjectPKInfo, [0] attributes },
 * signatureAlgorithm, signature BIT STRING }) and the request is refused unless every part is where
 * it belongs, the key parses and the signature verifies over the exact info bytes.
 */
export function parseCsr(input: Uint8Array | string): ParsedCsr {
  const der = pemOrDer(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  let info: Buffer;
  let spki: Buffer;
  let sigAlg: AlgorithmIdentifier;
  let signature: Buffer;
  try {
    const outer = readTlv(der, 0);
    if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not a single DER SEQUENCE');
    const parts = children(der, outer);
    if (parts.length !== 3) throw new Error('expected info, algorithm and signature');
    const [infoT, algT, sigT] = parts as [Tlv, Tlv, Tlv];
    const fields = children(der, infoT);
    if (infoT.tag !== 0x30 || fields.length < 3 || fields[0]!.tag !== 0x02 || fields[1]!.tag !== 0x30)
      throw new Error('certificationRequestInfo is malformed');
    const spkiT = fields[2]!;
    if (spkiT.tag !== 0x30) throw new Error('subjectPKInfo is malformed');
    if (fields.length > 4 || (fields[3] && fields[3].tag !== 0xa0))
      throw new Error('attributes are malformed');
    if (algT.tag !== 0x30 || sigT.tag !== 0x03) throw new Error('signature fields are malformed');
    info = slice(der, infoT);
    spki = slice(der, spkiT);
    const algDer = slice(der, algT);
    sigAlg =
      KNOWN_SIGNATURE_ALGORITHMS.get(algDer.toString('hex')) ?? AsnConvert.parse(algDer, AlgorithmIdentifier);
    const bits = content(der, sigT);
    if (bits[0] !== 0) throw new Error('signature BIT STRING has unused bits');
    signature = bits.subarray(1);
  } catch (err) {
    throw new ValidationError('The certificate request is not a well-formed PKCS#10 request', {
      reason: (err as Error).message,
    });
  }
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyFromSpki(spki);
  } catch {
    throw new ValidationError('The certificate request carries a public key that cannot be read');
  }
  const digest = digestForSignatureOid(sigAlg.algorithm);
  if (!digest)
    throw new ValidationError('The certificate request is signed with an unsupported algorithm', {
      algorithm: sigAlg.algorithm,
    });
  if (!verifySignature(digest, publicKey, info, signature))
    throw new ValidationError(
      'The certificate request signature does not verify: it was not signed by its key',
    );
  return { spki, publicKey, keyAlgorithm: keyAlgorithmFromSpki(spki, publicKey) };
}
