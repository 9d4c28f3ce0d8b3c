// OCSP responder core (RFC 6960). Parses a request, answers every CertID the request names with
// good / revoked (certificateHold included, as revoked with that reason, §2.2) / unknown, echoes
// the nonce (§4.4.1), and signs with the issuing CA's own key (§4.2.2.2). A request that cannot
// be parsed gets malformedRequest, and any failure while answering gets internalError: this
// module never throws to its caller.
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
}

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

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
  const req = parseOcspRequest(der);
  if (!req) return MALFORMED_REQUEST;
  try {
    const matched = req.certIds.map((id) => matchCa(id, opts.cas));
    // One signature covers the whole response: it is made by the CA of the first certificate we
    // know; a certificate of another CA in the same request is answered "unknown" (we cannot vouch
    // for it under this CA's signature).
    const responder = matched.find((c) => c !== null) ?? opts.cas[0];
    if (!responder) return UNAUTHORIZED;
    const thisUpdate = truncateToSeconds(opts.now);
    const nextUpdate = new Date(thisUpdate.getTime() + opts.validitySeconds * 1000);
    const responses: SingleResponse[] = [];
    for (let i = 0; i < req.certIds.length; i++) {
      const id = req.certIds[i]!;
      const ca = matched[i];
      const status: OcspStatus =
        ca && ca.id === responder.id
          ? await opts.lookup(ca.id, serialHex(new Uint8Array(id.serialNumber)))
          : { status: 'unknown' };
      responses.push(
        new SingleResponse({ certID: id, certStatus: certStatus(status), thisUpdate, nextUpdate }),
      );
    }
    const tbs = new ResponseData({
      responderID: new ResponderID({ byKey: new KeyHash(responder.keyIdentifier) }),
      producedAt: thisUpdate,
      responses,
      ...(req.nonce ? { responseExtensions: [req.nonce] } : {}),
    });
    const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
    const signature = await responder.signer.sign(responder.scheme.algorithm, tbsDer);
    const basic = new BasicOCSPResponse({
      tbsResponseData: tbs,
      signatureAlgorithm: responder.scheme.algorithmIdentifier,
      signature: new Uint8Array(signature).buffer,
      certs: [AsnConvert.parse(responder.certificateDer, Certificate)],
    });
    return Buffer.from(
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
  } catch {
    return INTERNAL_ERROR;
  }
}
