// Full CRLs (RFC 5280 §5): one per CA, listing every unexpired certificate that is revoked or on
// hold. A hold is an entry with reasonCode certificateHold (§5.3.1); lifting the hold simply drops
// the entry from the next full CRL. Each CRL carries AKI and a monotonically increasing cRLNumber
// (§5.2.3), kept by the store so several servers never reuse a number. The revoked entries are
// encoded by hand (a few small DER pieces each, encodeCrlEntry) and spliced into the schema-built
// TBSCertList: 100,000 entries through the schema classes took over a minute; this way they take
// a fraction of a second, and a caller that keeps the encoded entries builds the next CRL from
// them without encoding again.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CRLNumber,
  Extension,
  KeyIdentifier,
  Name,
  TBSCertList,
  Time,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import { TAG, children, encodeTime, encodeUnsignedInteger, readTlv, slice, tlv } from './der.js';
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
  /** The entries, or the entries already encoded by encodeCrlEntry. */
  entries: readonly CrlEntry[] | { readonly encoded: readonly Buffer[] };
}

function ext(id: string, value: unknown): Extension {
  return new Extension({
    extnID: id,
    critical: false,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

const ID_CE_CRL_REASONS_DER = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15]);
/** crlEntryExtensions holding only a reasonCode (§5.3.1), per reason: the same bytes every time. */
const REASON_EXTENSIONS = new Map<CrlReason, Buffer>(
  (Object.keys(REASON_CODES) as CrlReason[]).map((r) => [
    r,
    tlv(
      TAG.SEQUENCE,
      tlv(
        TAG.SEQUENCE,
        ID_CE_CRL_REASONS_DER,
        tlv(TAG.OCTET_STRING, tlv(0x0a, Buffer.from([REASON_CODES[r]]))),
      ),
    ),
  ]),
);

/** One revokedCertificates entry, DER (RFC 5280 §5.1.2.6). */
export function encodeCrlEntry(e: CrlEntry): Buffer {
  const serial = encodeUnsignedInteger(
    Buffer.from(e.serialHex.length % 2 ? '0' + e.serialHex : e.serialHex, 'hex'),
  );
  const when = encodeTime(truncateToSeconds(e.revokedAt));
  // §5.3.1: the reason code "unspecified" SHOULD be absent rather than stated.
  return e.reason === 'unspecified'
    ? tlv(TAG.SEQUENCE, serial, when)
    : tlv(TAG.SEQUENCE, serial, when, REASON_EXTENSIONS.get(e.reason)!);
}

/** A SEQUENCE of many parts without spreading them into one call (100,000 entries). */
function sequenceOf(parts: readonly Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  return Buffer.concat([Buffer.from([TAG.SEQUENCE]), lengthOctets(len), ...parts]);
}

function lengthOctets(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
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
  const encoded = 'encoded' in p.entries ? p.entries.encoded : p.entries.map(encodeCrlEntry);
  let tbsDer: Buffer = Buffer.from(AsnConvert.serialize(tbs));
  if (encoded.length) {
    // revokedCertificates goes between nextUpdate and the [0] crlExtensions (§5.1).
    const fields = children(tbsDer, readTlv(tbsDer, 0)).map((t) => slice(tbsDer, t));
    const ext = fields.pop()!;
    tbsDer = sequenceOf([...fields, sequenceOf(encoded as Buffer[]), ext]);
  }
  const signature = await ca.signer.sign(ca.scheme.algorithm, tbsDer);
  const algorithm = Buffer.from(AsnConvert.serialize(ca.scheme.algorithmIdentifier));
  // CertificateList (§5.1.1): the TBS as signed, the algorithm, the signature as a BIT STRING.
  return sequenceOf([tbsDer, algorithm, tlv(TAG.BIT_STRING, Buffer.from([0]), signature)]);
}
