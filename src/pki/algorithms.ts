// Key and signature algorithms a Tessera CA and its certificates use. Keys made here are Node
// KeyObjects (soft keys): Node's synchronous crypto.sign is several times faster than WebCrypto for
// ECDSA and returns the DER ECDSA-Sig-Value that X.509 wants (RFC 5758 §3.2). CA keys are reached
// only through a Signer (signer.ts).
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { isKeyAlgorithm, type KeyAlgorithm } from '../domain/key-algorithm.js';
import { TAG, content, encodeUnsignedInteger, readTlv, slice, tlv } from './der.js';

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

// SubjectPublicKeyInfo DER made and read here in JS for the keys Tessera issues for: OpenSSL's DER
// encoder and decoder behind KeyObject.export / createPublicKey cost ~0.2 ms a call, while the
// JWK form is ~0.01 ms out and 0.15 ms (EC, the point checked on the curve) or less in. A card's
// issuance went through DER five times per key (`npm run bench -- agents`). The bytes are OpenSSL's
// (named curve, uncompressed point; rsaEncryption with NULL parameters), which tests check; any
// other key or encoding takes OpenSSL's path.
const EC_SPKI_PREFIX = {
  'P-256': Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  'P-384': Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
} as const;
const EC_COORDINATE_BYTES = { 'P-256': 32, 'P-384': 48 } as const;
/** AlgorithmIdentifier { rsaEncryption, NULL } (RFC 3279 §2.3.1). */
const RSA_ALGORITHM = Buffer.from('300d06092a864886f70d0101010500', 'hex');

export function spkiOf(key: KeyObject): Buffer {
  if (key.type === 'public' && (key.asymmetricKeyType === 'ec' || key.asymmetricKeyType === 'rsa')) {
    const jwk = key.export({ format: 'jwk' });
    if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384') && jwk.x && jwk.y) {
      const x = Buffer.from(jwk.x, 'base64url');
      const y = Buffer.from(jwk.y, 'base64url');
      const size = EC_COORDINATE_BYTES[jwk.crv];
      if (x.length === size && y.length === size)
        return Buffer.concat([EC_SPKI_PREFIX[jwk.crv], Buffer.of(4), x, y]);
    } else if (jwk.kty === 'RSA' && jwk.n && jwk.e)
      return rsaSpki(Buffer.from(jwk.n, 'base64url'), Buffer.from(jwk.e, 'base64url'));
  }
  return key.export({ type: 'spki', format: 'der' });
}

function rsaSpki(n: Uint8Array, e: Uint8Array): Buffer {
  const rsaPublicKey = tlv(TAG.SEQUENCE, encodeUnsignedInteger(n), encodeUnsignedInteger(e));
  return tlv(TAG.SEQUENCE, RSA_ALGORITHM, tlv(TAG.BIT_STRING, Buffer.of(0), rsaPublicKey));
}

export function publicKeyFromSpki(spki: Uint8Array): KeyObject {
  const der = Buffer.from(spki);
  for (const crv of ['P-256', 'P-384'] as const) {
    const prefix = EC_SPKI_PREFIX[crv];
    const size = EC_COORDINATE_BYTES[crv];
    if (der.length === prefix.length + 1 + 2 * size && der.subarray(0, prefix.length).equals(prefix)) {
      if (der[prefix.length] !== 4) break; // a compressed or hybrid point: OpenSSL's path
      const x = der.subarray(prefix.length + 1, prefix.length + 1 + size);
      const y = der.subarray(prefix.length + 1 + size);
      return createPublicKey({
        key: { kty: 'EC', crv, x: x.toString('base64url'), y: y.toString('base64url') },
        format: 'jwk',
      });
    }
  }
  const rsa = rsaParts(der);
  if (rsa)
    return createPublicKey({
      key: { kty: 'RSA', n: rsa.n.toString('base64url'), e: rsa.e.toString('base64url') },
      format: 'jwk',
    });
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The modulus and exponent of an rsaEncryption SPKI in the DER rsaSpki makes, else null. */
function rsaParts(der: Buffer): { n: Buffer; e: Buffer } | null {
  try {
    const outer = readTlv(der, 0);
    const alg = readTlv(der, outer.contentStart);
    if (outer.tag !== TAG.SEQUENCE || !slice(der, alg).equals(RSA_ALGORITHM)) return null;
    const bits = readTlv(der, alg.end);
    if (bits.tag !== TAG.BIT_STRING || der[bits.contentStart] !== 0) return null;
    const seq = readTlv(der, bits.contentStart + 1);
    const n = readTlv(der, seq.contentStart);
    const e = readTlv(der, n.end);
    if (n.tag !== TAG.INTEGER || e.tag !== TAG.INTEGER) return null;
    const parts = { n: stripZeros(content(der, n)), e: stripZeros(content(der, e)) };
    // Only the canonical encoding: anything else is OpenSSL's to accept or refuse.
    return rsaSpki(parts.n, parts.e).equals(der) ? parts : null;
  } catch {
    return null;
  }
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
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
