// OCSP responder core (RFC 6960). Parses a request, answers every CertID the request names with
// good / revoked (certificateHold included, as revoked with that reason, §2.2) / unknown, echoes
// the nonce (§4.4.1), and signs with the key the caller names for the CA: its delegated responder
// (§4.2.2.2, ocsp-signer-cert.ts) or the CA itself. A request that cannot be parsed gets
// malformedRequest, and any failure while answering gets internalError: this module never throws
// to its caller. An answer about one certificate without a nonce says so (`single`), so the
// caller may keep it and serve it again (pre-produced, RFC 6960 §2.4, RFC 5019).
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import type { CertID } from '@peculiar/asn1-ocsp';
import {
  BasicOCSPResponse,
  CertStatus,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
} from '@peculiar/asn1-ocsp';
import type { Extension } from '@peculiar/asn1-x509';
import { Certificate, CRLReason } from '@peculiar/asn1-x509';
import { readTlv } from './der.js';
import { caAsOcspSigner, type OcspSigningKey } from './ocsp-signer-cert.js';
import { truncateToSeconds } from './leaf.js';
import { REASON_CODES, type CrlReason } from './reasons.js';
import { serialHex } from './serial.js';
import { certificateParts, type SigningCa } from './signing-ca.js';

export type OcspStatus =
  { status: 'good' } | { status: 'revoked'; revokedAt: Date; reason: CrlReason } | { status: 'unknown' };

/** Looks up a certificate by its issuing CA and serial (lower-case hex, no leading zero octets). */
export type OcspLookup = (caId: string, serial: string) => Promise<OcspStatus>;

export interface OcspResponderOptions {
  /** CAs this responder answers for; each signs the answers about its own certificates. */
  cas: readonly SigningCa[];
  lookup: OcspLookup;
  now: Date;
  /** nextUpdate = thisUpdate + this many seconds (§2.4); the status may change before it. */
  validitySeconds: number;
  /** Who signs the answers about a CA's certificates; default the CA itself. */
  signingKey?: (ca: SigningCa) => Promise<OcspSigningKey>;
}

/** An answer about exactly one certificate, without a nonce: the same bytes answer anyone. */
export interface SingleAnswer {
  caId: string;
  serial: string;
  /**
   * The CertID's hash algorithm (OID, and "+" when it carries parameters): the answer repeats the
   * CertID as asked, so it is kept per hash and encoding.
   */
  hashOid: string;
  status: OcspStatus['status'];
  producedAt: Date;
  nextUpdate: Date;
}

export interface OcspAnswer {
  der: Buffer;
  single: SingleAnswer | null;
}

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** The CertID hash algorithms answered (OIDs): a cached answer exists per certificate and hash. */
export const CERT_ID_HASH_OIDS: readonly string[] = Object.keys(HASHES).flatMap((o) => [o, `${o}+`]);

const hashKey = (id: CertID) => `${id.hashAlgorithm.algorithm}${id.hashAlgorithm.parameters ? '+' : ''}`;

/**
 * What a request without nonce asks about one certificate of one of `cas` (as `SingleAnswer`
 * names it), or null for anything else: a request with a nonce or several CertIDs, or garbage.
 */
export function singleQuestion(
  der: Uint8Array,
  cas: readonly SigningCa[],
): { caId: string; serial: string; hashOid: string } | null {
  const req = parseOcspRequest(der);
  if (!req || req.nonce || req.certIds.length !== 1) return null;
  const id = req.certIds[0]!;
  const ca = matchCa(id, cas);
  return ca
    ? { caId: ca.id, serial: serialHex(new Uint8Array(id.serialNumber)), hashOid: hashKey(id) }
    : null;
}

function statusOnly(status: OCSPResponseStatus): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

export const MALFORMED_REQUEST = statusOnly(OCSPResponseStatus.malformedRequest);
export const INTERNAL_ERROR = statusOnly(OCSPResponseStatus.internalError);
export const UNAUTHORIZED = statusOnly(OCSPResponseStatus.unauthorized);

export interface ParsedOcspRequest {
  certIds: CertID[];
  nonce: Extension | null;
}

/** Parses a DER OCSPRequest; null when it is not one (truncated, trailing bytes, empty list). */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest | null {
  try {
    const outer = readTlv(der, 0);
    if (outer.end !== der.length) return null;
    const req = AsnConvert.parse(der, OCSPRequest);
    const list = req.tbsRequest.requestList;
    if (!list || list.length === 0) return null;
    const nonce = req.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce) ?? null;
    return { certIds: list.map((r) => r.reqCert), nonce };
  } catch {
    return null;
  }
}

function matchCa(id: CertID, cas: readonly SigningCa[]): SigningCa | null {
  const hash = HASHES[id.hashAlgorithm.algorithm];
  if (!hash) return null;
  const nameHash = Buffer.from(id.issuerNameHash.buffer);
  const keyHash = Buffer.from(id.issuerKeyHash.buffer);
  for (const ca of cas) {
    const bits = certificateParts(ca.certificateDer).subjectPublicKey;
    if (
      createHash(hash).update(ca.subjectDer).digest().equals(nameHash) &&
      createHash(hash).update(bits).digest().equals(keyHash)
    )
      return ca;
  }
  return null;
}

function certStatus(s: OcspStatus): CertStatus {
  if (s.status === 'good') return new CertStatus({ good: null });
  if (s.status === 'unknown') return new CertStatus({ unknown: null });
  return new CertStatus({
    revoked: new RevokedInfo({
      revocationTime: truncateToSeconds(s.revokedAt),
      ...(s.reason === 'unspecified' ? {} : { revocationReason: new CRLReason(REASON_CODES[s.reason]) }),
    }),
  });
}

/** Answers a DER OCSPRequest with a DER OCSPResponse. Never throws. */
export async function respondOcsp(der: Uint8Array, opts: OcspResponderOptions): Promise<Buffer> {
  return (await answerOcsp(der, opts)).der;
}

const plain = (der: Buffer): OcspAnswer => ({ der, single: null });

/** Like respondOcsp, and says whether the answer may be served again. Never throws. */
export async function answerOcsp(der: Uint8Array, opts: OcspResponderOptions): Promise<OcspAnswer> {
  const req = parseOcspRequest(der);
  if (!req) return plain(MALFORMED_REQUEST);
  try {
    const matched = req.certIds.map((id) => matchCa(id, opts.cas));
    // One signature covers the whole response: it is made by the CA of the first certificate we
    // know; a certificate of another CA in the same request is answered "unknown" (we cannot vouch
    // for it under this CA's signature).
    const responder = matched.find((c) => c !== null) ?? opts.cas[0];
    if (!responder) return plain(UNAUTHORIZED);
    const key = await (opts.signingKey ?? ((ca: SigningCa) => Promise.resolve(caAsOcspSigner(ca))))(
      responder,
    );
    const thisUpdate = truncateToSeconds(opts.now);
    // Never promise beyond the signing certificate's own life.
    const nextUpdate = new Date(
      Math.min(thisUpdate.getTime() + opts.validitySeconds * 1000, truncateToSeconds(key.notAfter).getTime()),
    );
    const responses: SingleResponse[] = [];
    const statuses: OcspStatus[] = [];
    for (let i = 0; i < req.certIds.length; i++) {
      const id = req.certIds[i]!;
      const ca = matched[i];
      const status: OcspStatus =
        ca && ca.id === responder.id
          ? await opts.lookup(ca.id, serialHex(new Uint8Array(id.serialNumber)))
          : { status: 'unknown' };
      statuses.push(status);
      responses.push(
        new SingleResponse({ certID: id, certStatus: certStatus(status), thisUpdate, nextUpdate }),
      );
    }
    const tbs = new ResponseData({
      responderID: new ResponderID({ byKey: new KeyHash(key.keyIdentifier) }),
      producedAt: thisUpdate,
      responses,
      ...(req.nonce ? { responseExtensions: [req.nonce] } : {}),
    });
    const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
    const signature = await key.signer.sign(key.scheme.algorithm, tbsDer);
    const basic = new BasicOCSPResponse({
      tbsResponseData: tbs,
      signatureAlgorithm: key.scheme.algorithmIdentifier,
      signature: new Uint8Array(signature).buffer,
      certs: [AsnConvert.parse(key.certificateDer, Certificate)],
    });
    const out = Buffer.from(
      AsnConvert.serialize(
        new OCSPResponse({
          responseStatus: OCSPResponseStatus.successful,
          responseBytes: new ResponseBytes({
            responseType: id_pkix_ocsp_basic,
            response: new OctetString(AsnConvert.serialize(basic)),
          }),
        }),
      ),
    );
    const id0 = req.certIds[0]!;
    const single: SingleAnswer | null =
      req.certIds.length === 1 && !req.nonce && matched[0]?.id === responder.id
        ? {
            caId: responder.id,
            serial: serialHex(new Uint8Array(id0.serialNumber)),
            hashOid: hashKey(id0),
            status: statuses[0]!.status,
            producedAt: thisUpdate,
            nextUpdate,
          }
        : null;
    return { der: out, single };
  } catch {
    return plain(INTERNAL_ERROR);
  }
}
