// Proof of possession for the CA: a PKCS#10 request (RFC 2986) whose structure is built here and
// whose signature comes from the card's slot key, and a signed challenge over a bare public key.
// Both are checked against the public key before they are returned, so a card that signs with
// another key (or a broken one) is caught here rather than at the CA.
import 'reflect-metadata';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CertificationRequest, CertificationRequestInfo, Attributes } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Attribute,
  Extension,
  Extensions,
  Name,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { Name as NameBuilder } from '@peculiar/x509';
import { CardProtocolError } from '../errors.js';
import type { AsymmetricAlgorithm } from './constants.js';
import { ALGORITHM } from './constants.js';
import { algorithmOfKey } from './crypto.js';
import type { HashName, PivSession } from './piv-session.js';

/** Signature algorithm OIDs (RFC 4055 §5, RFC 5758 §3.2). */
const SIGNATURE_OID: Record<'rsa' | 'ec', Partial<Record<HashName, string>>> = {
  rsa: { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha512: '1.2.840.113549.1.1.13' },
  ec: { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' },
};

const DER_NULL = Uint8Array.of(0x05, 0x00).buffer;
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface SignCsrOptions {
  /** Digest for the signature; default SHA-384 for P-384 keys, SHA-256 otherwise. */
  hash?: HashName;
  /** Extensions to request (DER of each Extension), carried in an extensionRequest attribute. */
  extensions?: readonly Uint8Array[];
}

function keyFacts(publicKeySpki: Uint8Array): {
  key: KeyObject;
  algorithm: AsymmetricAlgorithm;
  kind: 'rsa' | 'ec';
} {
  const key = createPublicKey({ key: Buffer.from(publicKeySpki), format: 'der', type: 'spki' });
  const algorithm = algorithmOfKey(key);
  if (algorithm === undefined) throw new RangeError('the public key is not one a PIV slot can hold');
  return { key, algorithm, kind: key.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec' };
}

function defaultHash(algorithm: AsymmetricAlgorithm): HashName {
  return algorithm === ALGORITHM.ECC_P384 ? 'sha384' : 'sha256';
}

/**
 * A PKCS#10 request for `subject` (an RFC 4514 string such as "CN=Alice Smith, O=Example") and the
 * key in `slot`, signed by the card. Needs the PIN verified when the slot's policy asks for it.
 * Returns the DER.
 */
export async function signCsr(
  session: PivSession,
  slot: number,
  publicKeySpki: Uint8Array,
  subject: string,
  opts: SignCsrOptions = {},
): Promise<Uint8Array> {
  const { key, algorithm, kind } = keyFacts(publicKeySpki);
  const hash = opts.hash ?? defaultHash(algorithm);
  const oid = SIGNATURE_OID[kind][hash];
  if (!oid) throw new RangeError(`hash ${hash} is not allowed for CSR signatures`);
  const attributes = new Attributes();
  if (opts.extensions?.length) {
    const exts = new Extensions(opts.extensions.map((e) => AsnConvert.parse(e, Extension)));
    attributes.push(new Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(exts)] }));
  }
  const info = new CertificationRequestInfo({
    version: 0,
    subject: AsnConvert.parse(new NameBuilder(subject).toArrayBuffer(), Name),
    subjectPKInfo: AsnConvert.parse(publicKeySpki, SubjectPublicKeyInfo),
    attributes,
  });
  const tbs = new Uint8Array(AsnConvert.serialize(info));
  const signature = await session.sign(slot, algorithm, tbs, hash);
  if (!verify(hash, tbs, key, signature)) {
    throw new CardProtocolError('The card signed the request with a key other than the one given');
  }
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({
      algorithm: oid,
      parameters: kind === 'rsa' ? DER_NULL : undefined,
    }),
    signature: Uint8Array.from(signature).buffer,
  });
  return new Uint8Array(AsnConvert.serialize(csr));
}

/**
 * Has the card sign a server-chosen challenge with the slot key, for proof of possession over a
 * bare public key (no CSR). Returns the signature (PKCS#1 v1.5 for RSA, DER ECDSA for EC), already
 * checked against `publicKeySpki`.
 */
export async function signChallenge(
  session: PivSession,
  slot: number,
  publicKeySpki: Uint8Array,
  challenge: Uint8Array,
  hash?: HashName,
): Promise<Uint8Array> {
  const { key, algorithm } = keyFacts(publicKeySpki);
  const h = hash ?? defaultHash(algorithm);
  const signature = await session.sign(slot, algorithm, challenge, h);
  if (!verify(h, challenge, key, signature)) {
    throw new CardProtocolError('The card signed the challenge with a key other than the one given');
  }
  return signature;
}

/** The server side of signChallenge. */
export function verifyChallenge(
  publicKeySpki: Uint8Array,
  challenge: Uint8Array,
  signature: Uint8Array,
  hash?: HashName,
): boolean {
  const { key, algorithm } = keyFacts(publicKeySpki);
  return verify(hash ?? defaultHash(algorithm), challenge, key, signature);
}
