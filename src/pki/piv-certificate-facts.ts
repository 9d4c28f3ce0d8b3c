// What the conformance check reads out of a certificate found on a card: the identifiers its SAN
// binds it to (FASC-N, card UUID), whether it carries what Windows logon needs (UPN, SID), its key
// purposes and their criticality, and its public key, parsed through the asn1-x509 schema classes.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, ExtendedKeyUsage, GeneralNames } from '@peculiar/asn1-x509';
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
  let publicKey: KeyObject | undefined;
  return {
    serial: Buffer.from(tbs.serialNumber).toString('hex'),
    subject: tbs.subject.map((rdn) => rdn.map((a) => a.value.toString()).join('+')).join(', '),
    notAfter: tbs.validity.notAfter.getTime(),
    fascn,
    uuid,
    upn,
    sid: !!ext(PIV_OID.ntdsCaSecurityExt),
    extendedKeyUsage: eku ? [...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)] : [],
    extendedKeyUsageCritical: !!eku?.critical,
    // Made when first read: the conformance check of every issued card reads the other facts only.
    get publicKey(): KeyObject {
      return (publicKey ??= createPublicKey({
        key: Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
        format: 'der',
        type: 'spki',
      }));
    },
  };
}
