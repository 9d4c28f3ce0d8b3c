// Key and signature algorithms a Tessera CA and its certificates use. Keys made here are Node
// KeyObjects (soft keys): Node's synchronous crypto.sign is several times faster than WebCrypto for
// ECDSA and returns the DER ECDSA-Sig-Value that X.509 wants (RFC 5758 §3.2). CA keys are reached
// only through a Signer (signer.ts).
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { isKeyAlgorithm, type KeyAlgorithm } from '../domain/key-algorithm.js';

// The names are the domain's; the CA code imports them from here beside what they mean to crypto.
export type { KeyAlgorithm };

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateKeyPair(alg: KeyAlgorithm): KeyPair {
  switch (alg) {
    case 'ECCP256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ECCP384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'RSA2048':
    case 'RSA3072':
    case 'RSA4096':
      return generateKeyPairSync('rsa', { modulusLength: Number(alg.slice(3)), publicExponent: 0x10001 });
  }
}

/** Names the algorithm of a public key, or null when Tessera does not issue for it. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | null {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve === 'prime256v1' || d.namedCurve === 'P-256') return 'ECCP256';
    if (d.namedCurve === 'secp384r1' || d.namedCurve === 'P-384') return 'ECCP384';
    return null;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const alg = `RSA${d.modulusLength ?? 0}`;
    return isKeyAlgorithm(alg) ? alg : null;
  }
  return null;
}

export function isEcKey(alg: KeyAlgorithm): boolean {
  return alg.startsWith('ECC');
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

/**
 * Signature algorithms by their JOSE names (RFC 7518 §3.1): ECDSA or RSASSA-PKCS1-v1_5 over
 * SHA-256 / SHA-384. What a Signer is asked to do (signer.ts).
 */
export type SignatureAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'RS384';

export function digestOf(alg: SignatureAlgorithm): 'sha256' | 'sha384' {
  return alg.endsWith('384') ? 'sha384' : 'sha256';
}

const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  rsaSha256: '1.2.840.113549.1.1.11',
  rsaSha384: '1.2.840.113549.1.1.12',
};

/**
 * How a CA key signs: the digest (SHA-384 for P-384 per RFC 5480 §4 pairing guidance, else SHA-256),
 * the AlgorithmIdentifier written into certificates, CRLs and OCSP responses (ECDSA without
 * parameters, RFC 5758 §3.2; RSA with NULL parameters, RFC 4055 §5), and the WebCrypto form for
 * the @peculiar/x509 path.
 */
export interface SignatureScheme {
  /** What the CA's Signer is asked for. */
  algorithm: SignatureAlgorithm;
  hash: 'sha256' | 'sha384';
  algorithmIdentifier: AlgorithmIdentifier;
  algorithmIdentifierDer: Buffer;
  webcrypto: { name: 'ECDSA'; hash: string } | { name: 'RSASSA-PKCS1-v1_5'; hash: string };
}

export function signatureSchemeFor(alg: KeyAlgorithm): SignatureScheme {
  const ec = isEcKey(alg);
  const hash = alg === 'ECCP384' ? 'sha384' : 'sha256';
  const oid = ec
    ? hash === 'sha384'
      ? OID.ecdsaSha384
      : OID.ecdsaSha256
    : hash === 'sha384'
      ? OID.rsaSha384
      : OID.rsaSha256;
  const algorithmIdentifier = new AlgorithmIdentifier({
    algorithm: oid,
    ...(ec ? {} : { parameters: null }),
  });
  const webHash = hash === 'sha384' ? 'SHA-384' : 'SHA-256';
  return {
    algorithm: `${ec ? 'ES' : 'RS'}${hash === 'sha384' ? '384' : '256'}`,
    hash,
    algorithmIdentifier,
    algorithmIdentifierDer: Buffer.from(AsnConvert.serialize(algorithmIdentifier)),
    webcrypto: ec ? { name: 'ECDSA', hash: webHash } : { name: 'RSASSA-PKCS1-v1_5', hash: webHash },
  };
}

/** The digest named by a signature AlgorithmIdentifier OID (for verifying CSRs), or null. */
export function digestForSignatureOid(oid: string): string | null {
  const table: Record<string, string> = {
    [OID.ecdsaSha256]: 'sha256',
    [OID.ecdsaSha384]: 'sha384',
    '1.2.840.10045.4.3.4': 'sha512',
    [OID.rsaSha256]: 'sha256',
    [OID.rsaSha384]: 'sha384',
    '1.2.840.113549.1.1.13': 'sha512',
  };
  return table[oid] ?? null;
}

export function verifySignature(
  digest: string | null,
  key: KeyObject,
  data: Uint8Array,
  sig: Uint8Array,
): boolean {
  try {
    return verify(digest, data, key, sig);
  } catch {
    return false;
  }
}

/**
 * Reads a configured algorithm name: the policy spelling (ECCP256, RSA2048) or the descriptive one
 * (ECDSA-P256, ECDSA-P384, RSA-2048 …), case-insensitive. Null when it is neither.
 */
export function parseKeyAlgorithm(name: string): KeyAlgorithm | null {
  const n = name.trim().toUpperCase().replace(/[\s_]/g, '');
  if (isKeyAlgorithm(n)) return n;
  const m = /^(?:ECDSA-?|EC-?)(?:P-?|SECP)(256|384)(?:R1)?$/.exec(n);
  if (m) return m[1] === '256' ? 'ECCP256' : 'ECCP384';
  const r = /^RSA-?(2048|3072|4096)$/.exec(n);
  if (r) return `RSA${r[1]}` as KeyAlgorithm;
  return null;
}
