// What the conformance check reads out of a certificate found on a card: the identifiers its SAN
// binds it to (FASC-N, card UUID), whether it carries what Windows logon needs (UPN, SID), its key
// purposes and their criticality, and its public key. Read by walking the DER (der.ts): parsing
// each certificate through the asn1-x509 schema classes was ~1-2 ms, the largest part of the
// read-back check of every issued card (`npm run bench -- agents`). A certificate the walk does not
// read plainly — a name in a string type other than UTF8/Printable/IA5, a time with fractions, an
// unknown SAN form, any DER it finds wrong — is parsed through the schema classes instead, so the
// facts (and the errors) are theirs; tests compare the two readings.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, ExtendedKeyUsage, GeneralNames } from '@peculiar/asn1-x509';
import { TAG, children, content, readTlv, slice, type Tlv } from './der.js';
import { PIV_OID } from './profiles.js';

export interface PivCertificateFacts {
  serial: string;
  subject: string;
  notAfter: Date;
  fascn: Buffer | null;
  uuid: string | null;
  upn: boolean;
  sid: boolean;
  extendedKeyUsage: string[];
  extendedKeyUsageCritical: boolean;
  publicKey: KeyObject;
}

export function pivCertificateFacts(der: Uint8Array): PivCertificateFacts {
  try {
    const walked = walk(der);
    if (walked) return walked;
  } catch {
    // Not plain DER as the walk reads it: the schema classes decide (and throw, when it is bad).
  }
  return parsedPivCertificateFacts(der);
}

/** The same facts through the asn1-x509 schema classes: the reference the walk is tested against. */
export function parsedPivCertificateFacts(der: Uint8Array): PivCertificateFacts {
  const cert = AsnConvert.parse(der, Certificate);
  const tbs = cert.tbsCertificate;
  const ext = (oid: string) => tbs.extensions?.find((e) => e.extnID === oid);
  let fascn: Buffer | null = null;
  let uuid: string | null = null;
  let upn = false;
  const san = ext('2.5.29.17');
  if (san)
    for (const g of AsnConvert.parse(san.extnValue, GeneralNames)) {
      if (g.otherName?.typeId === PIV_OID.fascnOtherName)
        fascn = Buffer.from(AsnConvert.parse(g.otherName.value, OctetString).buffer);
      if (g.otherName?.typeId === PIV_OID.upnOtherName) upn = true;
      const uri = g.uniformResourceIdentifier;
      if (uri?.toLowerCase().startsWith('urn:uuid:')) uuid = uri.slice(9).toLowerCase();
    }
  const eku = ext('2.5.29.37');
  return withPublicKey(
    {
      serial: Buffer.from(tbs.serialNumber).toString('hex'),
      subject: tbs.subject.map((rdn) => rdn.map((a) => a.value.toString()).join('+')).join(', '),
      notAfter: tbs.validity.notAfter.getTime(),
      fascn,
      uuid,
      upn,
      sid: !!ext(PIV_OID.ntdsCaSecurityExt),
      extendedKeyUsage: eku ? [...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)] : [],
      extendedKeyUsageCritical: !!eku?.critical,
    },
    () => Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
  );
}

/** The public key, made when first read: the conformance check of every issued card reads the rest only. */
function withPublicKey(
  facts: Omit<PivCertificateFacts, 'publicKey'>,
  spki: () => Buffer,
): PivCertificateFacts {
  let key: KeyObject | undefined;
  return Object.defineProperty(facts, 'publicKey', {
    enumerable: true,
    get: () => (key ??= createPublicKey({ key: spki(), format: 'der', type: 'spki' })),
  }) as PivCertificateFacts;
}

const CONTEXT_0 = 0xa0;
const CONTEXT_3 = 0xa3;
const BOOLEAN = 0x01;
/** GeneralName forms the schema classes read (RFC 5280 §4.2.1.6); another one goes to them. */
const GENERAL_NAME_TAGS = new Set([0xa0, 0x81, 0x82, 0x86, 0x87, 0x88, 0xa4]);
const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';

/** The facts by walking the DER, or null when something is not plain enough for the walk. */
function walk(der: Uint8Array): PivCertificateFacts | null {
  const cert = readTlv(der, 0);
  if (cert.tag !== TAG.SEQUENCE || cert.end !== der.length) return null;
  const tbs = readTlv(der, cert.contentStart);
  if (tbs.tag !== TAG.SEQUENCE) return null;
  const f = children(der, tbs);
  let i = f[0]?.tag === CONTEXT_0 ? 1 : 0;
  const [serial, , , validity, subject, spki] = f.slice(i, (i += 6));
  if (serial?.tag !== TAG.INTEGER || validity?.tag !== TAG.SEQUENCE || subject?.tag !== TAG.SEQUENCE)
    return null;
  if (spki?.tag !== TAG.SEQUENCE) return null;
  const notAfterTlv = children(der, validity)[1];
  const notAfter = notAfterTlv ? timeOf(der, notAfterTlv) : null;
  const name = nameOf(der, subject);
  if (!notAfter || name === null) return null;

  let fascn: Buffer | null = null;
  let uuid: string | null = null;
  let upn = false;
  let sid = false;
  let extendedKeyUsage: string[] = [];
  let extendedKeyUsageCritical = false;
  const exts = f.slice(i).find((t) => t.tag === CONTEXT_3);
  if (exts) {
    const list = readTlv(der, exts.contentStart);
    if (list.tag !== TAG.SEQUENCE) return null;
    for (const e of children(der, list)) {
      const [oidTlv, second, third] = children(der, e);
      if (oidTlv?.tag !== TAG.OID || !second) return null;
      const critical = second.tag === BOOLEAN ? content(der, second)[0] === 0xff : false;
      const valueTlv = second.tag === BOOLEAN ? third : second;
      if (valueTlv?.tag !== TAG.OCTET_STRING) return null;
      const oid = oidOf(content(der, oidTlv));
      const value = content(der, valueTlv);
      if (oid === PIV_OID.ntdsCaSecurityExt) sid = true;
      else if (oid === OID_EKU) {
        const seq = readTlv(value, 0);
        if (seq.tag !== TAG.SEQUENCE) return null;
        extendedKeyUsage = children(value, seq).map((t) => {
          if (t.tag !== TAG.OID) throw new Error('EKU entry is not an OID');
          return oidOf(content(value, t));
        });
        extendedKeyUsageCritical = critical;
      } else if (oid === OID_SAN) {
        const seq = readTlv(value, 0);
        if (seq.tag !== TAG.SEQUENCE) return null;
        for (const g of children(value, seq)) {
          if (!GENERAL_NAME_TAGS.has(g.tag)) return null;
          if (g.tag === 0x86) {
            const uri = content(value, g).toString('latin1');
            if (uri.toLowerCase().startsWith('urn:uuid:')) uuid = uri.slice(9).toLowerCase();
          } else if (g.tag === CONTEXT_0) {
            // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
            const [typeId, explicit] = children(value, g);
            if (typeId?.tag !== TAG.OID || explicit?.tag !== CONTEXT_0) return null;
            const type = oidOf(content(value, typeId));
            if (type === PIV_OID.fascnOtherName) {
              const octets = readTlv(value, explicit.contentStart);
              if (octets.tag !== TAG.OCTET_STRING) return null;
              fascn = Buffer.from(content(value, octets));
            }
            if (type === PIV_OID.upnOtherName) upn = true;
          }
        }
      }
    }
  }
  return withPublicKey(
    {
      serial: content(der, serial).toString('hex'),
      subject: name,
      notAfter,
      fascn,
      uuid,
      upn,
      sid,
      extendedKeyUsage,
      extendedKeyUsageCritical,
    },
    () => Buffer.from(slice(der, spki)),
  );
}

/** A Name as the check shows it: each RDN's values joined by '+', the RDNs by ', '; null if unusual. */
function nameOf(der: Uint8Array, name: Tlv): string | null {
  const rdns: string[] = [];
  for (const rdn of children(der, name)) {
    if (rdn.tag !== TAG.SET) return null;
    const values: string[] = [];
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (type?.tag !== TAG.OID || !value) return null;
      if (value.tag === TAG.UTF8_STRING) values.push(content(der, value).toString('utf8'));
      else if (value.tag === TAG.PRINTABLE_STRING || value.tag === TAG.IA5_STRING) {
        const bytes = content(der, value);
        if (bytes.some((b) => b >= 0x80)) return null; // not the ASCII these types hold
        values.push(bytes.toString('latin1'));
      } else return null;
    }
    rdns.push(values.join('+'));
  }
  return rdns.join(', ');
}

/** UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5); null otherwise. */
function timeOf(der: Uint8Array, t: Tlv): Date | null {
  const s = content(der, t).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME && (m = /^(\d\d)(\d{10})Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{10})Z$/.exec(s))) year = Number(m[1]);
  else return null;
  const r = m[2]!;
  const n = (a: number) => Number(r.slice(a, a + 2));
  const d = new Date(Date.UTC(year, n(0) - 1, n(2), n(4), n(6), n(8)));
  d.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  return d;
}

/** Dotted form of an OBJECT IDENTIFIER's content (X.690 §8.19). */
function oidOf(c: Uint8Array): string {
  if (c.length === 0) throw new Error('empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < c.length; i++) {
    v = v * 128 + (c[i]! & 0x7f);
    if (!(c[i]! & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    } else if (i === c.length - 1) throw new Error('OID cut short');
  }
  return arcs.join('.');
}
