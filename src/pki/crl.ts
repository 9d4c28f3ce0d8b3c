// Full CRLs (RFC 5280 §5): one per CA, listing every unexpired certificate that is revoked or on
// hold. A hold is an entry with reasonCode certificateHold (§5.3.1); lifting the hold simply drops
// the entry from the next full CRL. Each CRL carries AKI and a monotonically increasing cRLNumber
// (§5.2.3), kept by the store so several servers never reuse a number.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CRLNumber,
  CRLReason,
  CertificateList,
  Extension,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import { truncateToSeconds } from './leaf.js';
import { REASON_CODES, type CrlReason } from './reasons.js';
import type { SigningCa } from './signing-ca.js';

export interface CrlEntry {
  /** Serial magnitude, hex. */
  serialHex: string;
  revokedAt: Date;
  reason: CrlReason;
}

export interface CrlParams {
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntry[];
}

function ext(id: string, value: unknown): Extension {
  return new Extension({
    extnID: id,
    critical: false,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

function serialBytes(hex: string): ArrayBuffer {
  const b = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  // Positive INTEGER: prefix 0x00 when the top bit is set (X.690 §8.3.2).
  const v = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  return new Uint8Array(v).buffer;
}

export async function buildCrl(ca: SigningCa, p: CrlParams): Promise<Buffer> {
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: ca.scheme.algorithmIdentifier,
    issuer: AsnConvert.parse(ca.subjectDer, Name),
    thisUpdate: new Time(truncateToSeconds(p.thisUpdate)),
    nextUpdate: new Time(truncateToSeconds(p.nextUpdate)),
    crlExtensions: [
      ext(
        id_ce_authorityKeyIdentifier,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ca.keyIdentifier) }),
      ),
      ext(id_ce_cRLNumber, new CRLNumber(p.crlNumber)),
    ],
  });
  if (p.entries.length)
    tbs.revokedCertificates = p.entries.map(
      (e) =>
        new RevokedCertificate({
          userCertificate: serialBytes(e.serialHex),
          revocationDate: new Time(truncateToSeconds(e.revokedAt)),
          // §5.3.1: the reason code "unspecified" SHOULD be absent rather than stated.
          ...(e.reason === 'unspecified'
            ? {}
            : { crlEntryExtensions: [ext(id_ce_cRLReasons, new CRLReason(REASON_CODES[e.reason]))] }),
        }),
    );
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await ca.signer.sign(ca.scheme.algorithm, tbsDer);
  const list = new CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: ca.scheme.algorithmIdentifier,
    signature: new Uint8Array(signature).buffer,
  });
  return Buffer.from(AsnConvert.serialize(list));
}
