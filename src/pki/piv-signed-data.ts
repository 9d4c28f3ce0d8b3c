// CMS SignedData as a PIV card carries it (FIPS 201-3 §4.2.1, SP 800-73-4 Part 1 §3.1.2 and
// Appendix A, SP 800-78 for the algorithms): the CHUID's issuer signature (id-PIV-CHUIDSecurityObject,
// content detached: the signed bytes are the CHUID's own fields) and the Security Object (an ICAO
// LDSSecurityObject of the card's signed objects' hashes, content encapsulated). Signed by the
// issuing CA's PIV content signer through a Signer, so its key may live in an HSM like a CA's.
// Signed attributes: contentType, messageDigest and pivSigner-DN; the signer's certificate is
// included. The checker here is what the conformance view and the tests use; openssl cms is the
// independent judge in the tests.
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { ContentInfo, SignedData, id_signedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { TAG, tlv } from './der.js';
import type { Signer } from './signer.js';
import { certificateParts, keyAlgorithmOfSpki } from './signing-ca.js';
import { signatureSchemeFor } from './algorithms.js';

/** Digest names this module uses. */
export type ContentHash = 'sha256' | 'sha384';

export const PIV_CONTENT_OID = {
  /** id-PIV-CHUIDSecurityObject: the eContentType of the CHUID's signature. */
  chuidSecurityObject: '2.16.840.1.101.3.6.1',
  /** id-PIV-content-signing… pivSigner-DN signed attribute (the signer's subject Name). */
  pivSignerDn: '2.16.840.1.101.3.6.5',
  /** id-icao-mrtd-security-ldsSecurityObject: the Security Object's eContentType. */
  ldsSecurityObject: '2.23.136.1.1.1',
} as const;

const ATTR = { contentType: '1.2.840.113549.1.9.3', messageDigest: '1.2.840.113549.1.9.4' };
const HASH_OID = { sha256: '2.16.840.1.101.3.4.2.1', sha384: '2.16.840.1.101.3.4.2.2' } as const;
const HASH_BY_OID: Record<string, 'sha256' | 'sha384'> = {
  [HASH_OID.sha256]: 'sha256',
  [HASH_OID.sha384]: 'sha384',
};

/** A content signer ready to sign: its Signer and its certificate. */
export interface ContentSigning {
  signer: Signer;
  certificateDer: Uint8Array;
}

const oidsKept = new Map<string, Buffer>();
/** An OBJECT IDENTIFIER's DER; the few this module uses are encoded once. */
const oidDer = (oid: string): Buffer => {
  let der = oidsKept.get(oid);
  if (!der) {
    der = Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER());
    if (oidsKept.size < 64) oidsKept.set(oid, der);
  }
  return der;
};
const SIGNED_DATA_OID = oidDer(id_signedData);

/**
 * What a content signer contributes to every SignedData it makes, encoded once: its signature
 * scheme, its subject (as the checker names it), the SignerInfo's sid (IssuerAndSerialNumber, the
 * certificate's own issuer and serial bytes), the pivSigner-DN attribute (its subject Name) and the
 * digest AlgorithmIdentifier. One content signer signs the CHUID and Security Object of every card:
 * parsing its certificate and re-encoding these through the schema classes for each was most of the
 * signing cost (`npm run bench -- agents`). Kept per certificate (a new or renewed signer is another
 * entry); read-only once made.
 */
interface SignerPieces {
  scheme: ReturnType<typeof signatureSchemeFor>;
  subject: string;
  sid: Buffer;
  signerDnAttribute: Buffer;
  digestAlgorithm: Buffer;
}

const signerPiecesKept = new Map<string, SignerPieces>();

/** The signer used last (one signs every card for a year): found by comparing bytes, no key made. */
let lastSigner: { der: Buffer; pieces: SignerPieces } | null = null;

function signerPieces(der: Uint8Array): SignerPieces {
  if (lastSigner?.der.equals(der)) return lastSigner.pieces;
  const key = Buffer.from(der).toString('base64');
  let kept = signerPiecesKept.get(key);
  if (!kept) {
    const parts = certificateParts(der);
    const alg = keyAlgorithmOfSpki(parts.spki);
    if (!alg) throw new Error('The content signer key is of an unsupported algorithm');
    const scheme = signatureSchemeFor(alg);
    kept = {
      scheme,
      subject: nameString(AsnConvert.parse(parts.subject, Name)),
      sid: tlv(TAG.SEQUENCE, parts.issuer, parts.serial),
      signerDnAttribute: attribute(PIV_CONTENT_OID.pivSignerDn, parts.subject),
      digestAlgorithm: tlv(TAG.SEQUENCE, oidDer(HASH_OID[scheme.hash])),
    };
    if (signerPiecesKept.size >= 64) signerPiecesKept.clear();
    signerPiecesKept.set(key, kept);
  }
  lastSigner = { der: Buffer.from(der), pieces: kept };
  return kept;
}

/** Attribute ::= SEQUENCE { attrType OID, attrValues SET OF value } with one value (RFC 5652 §5.3). */
const attribute = (oid: string, value: Uint8Array): Buffer =>
  tlv(TAG.SEQUENCE, oidDer(oid), tlv(TAG.SET, value));

/** Version 1 (SignerInfo, sid is IssuerAndSerialNumber) and 3 (SignedData, eContentType not id-data). */
const VERSION_1 = Buffer.from([TAG.INTEGER, 1, 1]);
const VERSION_3 = Buffer.from([TAG.INTEGER, 1, 3]);

/**
 * SignedData in a ContentInfo. `detached`: the content is not carried (the CHUID's case: the
 * relying party has the CHUID fields already). Encoded directly in DER (RFC 5652 §5) from the
 * signer's pieces: the bytes are those AsnConvert.serialize of the asn1-cms classes gives, which
 * test/pki/piv-signed-data.test.ts checks.
 */
export async function signPivContent(
  cs: ContentSigning,
  contentType: string,
  content: Uint8Array,
  opts: { detached: boolean },
): Promise<Buffer> {
  const pieces = signerPieces(cs.certificateDer);
  const { scheme } = pieces;
  const digest = createHash(scheme.hash).update(content).digest();
  // DER SET OF: elements in the order of their encodings (X.690 §11.6); the signature covers the
  // SET, the SignerInfo carries the same elements under [0] IMPLICIT.
  const attrs = [
    attribute(ATTR.contentType, oidDer(contentType)),
    attribute(ATTR.messageDigest, tlv(TAG.OCTET_STRING, digest)),
    pieces.signerDnAttribute,
  ].sort(Buffer.compare);
  const signature = await cs.signer.sign(scheme.algorithm, tlv(TAG.SET, ...attrs));
  const signerInfo = tlv(
    TAG.SEQUENCE,
    VERSION_1,
    pieces.sid,
    pieces.digestAlgorithm,
    tlv(CONTEXT_0, ...attrs),
    scheme.algorithmIdentifierDer,
    tlv(TAG.OCTET_STRING, signature),
  );
  const encapContentInfo = opts.detached
    ? tlv(TAG.SEQUENCE, oidDer(contentType))
    : tlv(TAG.SEQUENCE, oidDer(contentType), tlv(CONTEXT_0, tlv(TAG.OCTET_STRING, content)));
  const signedData = tlv(
    TAG.SEQUENCE,
    VERSION_3,
    tlv(TAG.SET, pieces.digestAlgorithm), // digestAlgorithms
    encapContentInfo,
    tlv(CONTEXT_0, cs.certificateDer), // certificates [0] IMPLICIT CertificateSet: one certificate
    tlv(TAG.SET, signerInfo), // signerInfos
  );
  // ContentInfo: contentType, then content [0] EXPLICIT.
  return tlv(TAG.SEQUENCE, SIGNED_DATA_OID, tlv(CONTEXT_0, signedData));
}

/** A content signer's subject as checkPivSignedData names it (`signerSubject`). */
export function contentSignerSubject(certificateDer: Uint8Array): string {
  return signerPieces(certificateDer).subject;
}

/** A constructed context-specific [0] tag. */
const CONTEXT_0 = 0xa0;

export interface SignedContentCheck {
  ok: boolean;
  /** Why not, in words an operator can act on. */
  problem: string | null;
  contentType: string | null;
  /** The encapsulated content (Security Object), or null when detached. */
  content: Buffer | null;
  signerCertificateDer: Buffer | null;
  signerSubject: string | null;
}

const fail = (problem: string, partial: Partial<SignedContentCheck> = {}): SignedContentCheck => ({
  ok: false,
  problem,
  contentType: null,
  content: null,
  signerCertificateDer: null,
  signerSubject: null,
  ...partial,
});

/**
 * Checks a PIV SignedData: its content type, the message digest over the content (given, for a
 * detached signature, else the encapsulated one), and the signature over the signed attributes
 * under the included signer certificate. Whether that certificate is a content signer of a CA the
 * caller trusts is the caller's check (it has the CA list).
 */
export function checkPivSignedData(
  der: Uint8Array,
  expectContentType: string,
  detachedContent?: Uint8Array,
): SignedContentCheck {
  let sd: SignedData;
  try {
    const ci = AsnConvert.parse(der, ContentInfo);
    if (ci.contentType !== id_signedData) return fail('not a CMS SignedData');
    sd = AsnConvert.parse(ci.content, SignedData);
  } catch {
    return fail('the signature does not parse as CMS SignedData');
  }
  const contentType = sd.encapContentInfo.eContentType;
  if (contentType !== expectContentType)
    return fail(`content type ${contentType}, expected ${expectContentType}`, { contentType });
  const encapsulated = sd.encapContentInfo.eContent?.single
    ? Buffer.from(sd.encapContentInfo.eContent.single.buffer)
    : null;
  const content = detachedContent ? Buffer.from(detachedContent) : encapsulated;
  if (!content) return fail('the signed content is missing', { contentType });
  const si = sd.signerInfos[0];
  const cert = sd.certificates?.find((c) => c.certificate)?.certificate;
  if (!si || !cert) return fail('no signer, or no signer certificate included', { contentType });
  const certDer = Buffer.from(AsnConvert.serialize(cert));
  const signerSubject = nameString(cert.tbsCertificate.subject);
  const base = { contentType, content: encapsulated, signerCertificateDer: certDer, signerSubject };
  const hash = HASH_BY_OID[si.digestAlgorithm.algorithm];
  if (!hash) return fail(`digest algorithm ${si.digestAlgorithm.algorithm} is not SHA-256/384`, base);
  const attrs = si.signedAttrs ?? [];
  const attr = (oid: string) => attrs.find((a) => a.attrType === oid)?.attrValues[0];
  const md = attr(ATTR.messageDigest);
  const ct = attr(ATTR.contentType);
  if (!md || !ct) return fail('the signed attributes lack the content type or message digest', base);
  if (!Buffer.from(ct).equals(oidDer(expectContentType)))
    return fail('the signed content-type attribute does not match', base);
  const digest = createHash(hash).update(content).digest();
  if (!Buffer.from(md).equals(tlv(TAG.OCTET_STRING, digest)))
    return fail('the content does not match its signed digest (the object was changed after signing)', base);
  const signed = tlv(TAG.SET, ...attrs.map((a) => Buffer.from(AsnConvert.serialize(a))));
  const key = createPublicKey({
    key: Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo)),
    format: 'der',
    type: 'spki',
  });
  const sigOk = (() => {
    try {
      return verifySignature(hash, signed, key, Buffer.from(si.signature.buffer));
    } catch {
      return false;
    }
  })();
  if (!sigOk) return fail('the signature does not verify under the signer certificate', base);
  return { ok: true, problem: null, ...base };
}

function nameString(n: Name): string {
  return n
    .map((rdn) => rdn.map((a) => `${a.type}=${a.value.toString()}`).join('+'))
    .reverse()
    .join(', ');
}

/**
 * The Security Object's content: an ICAO 9303 LDSSecurityObject (version 0, the hash algorithm,
 * one hash per data group). SP 800-73-4 Part 1 §3.1.3 maps each data group number to a PIV
 * container (the mapping is the Security Object's tag BA).
 */
export function encodeLdsSecurityObject(
  hash: ContentHash,
  groups: readonly { dataGroup: number; value: Uint8Array }[],
): Buffer {
  // In DER directly (one card's Security Object per issuance; asn1js's object tree cost more than
  // the hashing). The bytes are asn1js's, which test/pki/piv-signed-data.test.ts checks.
  return tlv(
    TAG.SEQUENCE,
    LDS_VERSION_0,
    tlv(TAG.SEQUENCE, oidDer(HASH_OID[hash])),
    tlv(
      TAG.SEQUENCE,
      ...groups.map((g) =>
        tlv(
          TAG.SEQUENCE,
          encodeSmallInteger(g.dataGroup),
          tlv(TAG.OCTET_STRING, createHash(hash).update(g.value).digest()),
        ),
      ),
    ),
  );
}

const LDS_VERSION_0 = Buffer.from([TAG.INTEGER, 1, 0]);

/** A non-negative INTEGER below 2^31 in minimal DER (X.690 §8.3.2): a data group number. */
function encodeSmallInteger(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`data group ${n} out of range`);
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

/** The data-group hashes of an LDSSecurityObject, or null when it does not parse. */
export function decodeLdsSecurityObject(
  der: Uint8Array,
): { hash: ContentHash; groups: { dataGroup: number; hash: Buffer }[] } | null {
  const r = asn1js.fromBER(der);
  if (r.offset === -1 || !(r.result instanceof asn1js.Sequence)) return null;
  const [version, alg, list] = r.result.valueBlock.value;
  if (!(version instanceof asn1js.Integer) || !(alg instanceof asn1js.Sequence)) return null;
  if (!(list instanceof asn1js.Sequence)) return null;
  const oid = alg.valueBlock.value[0];
  const hash = oid instanceof asn1js.ObjectIdentifier ? HASH_BY_OID[oid.valueBlock.toString()] : undefined;
  if (!hash) return null;
  const groups: { dataGroup: number; hash: Buffer }[] = [];
  for (const g of list.valueBlock.value) {
    if (!(g instanceof asn1js.Sequence)) return null;
    const [n, h] = g.valueBlock.value;
    if (!(n instanceof asn1js.Integer) || !(h instanceof asn1js.OctetString)) return null;
    groups.push({ dataGroup: n.valueBlock.valueDec, hash: Buffer.from(h.valueBlock.valueHexView) });
  }
  return { hash, groups };
}

/** Whether `value` hashes to `expected` under the Security Object's algorithm. */
export function hashMatches(hash: ContentHash, value: Uint8Array, expected: Uint8Array): boolean {
  return createHash(hash).update(value).digest().equals(Buffer.from(expected));
}

/** The digest a content signer's key pairs with (SHA-384 for P-384, else SHA-256). */
export function contentHashOf(cs: ContentSigning): ContentHash {
  return signerPieces(cs.certificateDer).scheme.hash;
}
