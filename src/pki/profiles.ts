// Certificate profiles for the four PIV key slots (NIST SP 800-73-4 §3.1; certificate contents
// after the X.509 Certificate and CRL Extensions Profile for PIV, FIPS 201-3 / "PIV cert profile").
// A device policy's credential profile names one of these; validity comes from the policy. The
// names and the slot each belongs in are the domain's (domain/credential-profile.ts); this file
// says what each profile's certificate contains.
import { PROFILE_SLOT, type CertificateProfileName, type PivSlot } from '../domain/credential-profile.js';

export type { CertificateProfileName };

export const EKU = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  /** Microsoft smart card logon. */
  smartcardLogon: '1.3.6.1.4.1.311.20.2.2',
  /** id-PIV-cardAuth (SP 800-73-4 / FIPS 201 card authentication). */
  pivCardAuth: '2.16.840.1.101.3.6.8',
  /** id-PIV-content-signing: signs a card's CHUID and Security Object (FIPS 201-3 §4.2.1). */
  pivContentSigning: '2.16.840.1.101.3.6.7',
  /** id-pkinit-KPClientAuth (RFC 4556 §3.2.4): Kerberos PKINIT client. */
  pkinitClientAuth: '1.3.6.1.5.2.3.4',
  /** id-kp-documentSigning (RFC 9336). */
  documentSigning: '1.3.6.1.5.5.7.3.36',
  /** Microsoft Document Signing. */
  msDocumentSigning: '1.3.6.1.4.1.311.10.3.12',
  /** Adobe Authentic Documents Trust (PDF signatures). */
  adobeAuthenticDocuments: '1.2.840.113583.1.1.5',
  /** Microsoft Encrypting File System. */
  msEfs: '1.3.6.1.4.1.311.10.3.4',
} as const;

/** Other names and extensions the PIV and Windows logon profiles use. */
export const PIV_OID = {
  /** pivFASC-N otherName (FIPS 201-3 §4.2.1; value OCTET STRING of the 25-byte FASC-N). */
  fascnOtherName: '2.16.840.1.101.3.6.6',
  /** Microsoft user principal name otherName (UTF8String). */
  upnOtherName: '1.3.6.1.4.1.311.20.2.3',
  /** szOID_NTDS_CA_SECURITY_EXT: the account's SID, for strong certificate mapping (KB5014754). */
  ntdsCaSecurityExt: '1.3.6.1.4.1.311.25.2',
  /** szOID_NTDS_OBJECTSID, the otherName inside it. */
  ntdsObjectSid: '1.3.6.1.4.1.311.25.2.1',
} as const;

/**
 * The certificate policies Tessera asserts when the administrator sets none (service config
 * `pki.certificatePolicies`). They sit under 1.3.6.1.4.1.32473, the enterprise number IANA keeps
 * for documentation and examples (RFC 5612): nobody's policy, so no relying party can mistake a demo
 * card for one issued under a real certificate policy. A deployment with a CP sets its own OIDs.
 * One per profile, after the FPKI Common Policy's split (authentication, card authentication,
 * hardware signature, hardware key management). (A 2.25 UUID arc was tried first: its 128-bit arc
 * is legal but several ASN.1 libraries cannot print it.)
 */
export const TESSERA_POLICY_ARC = '1.3.6.1.4.1.32473.7';
export const DEMO_CERTIFICATE_POLICIES: Readonly<Record<CertificateProfileName, readonly string[]>> = {
  piv_authentication: [`${TESSERA_POLICY_ARC}.1.1`],
  card_authentication: [`${TESSERA_POLICY_ARC}.1.2`],
  digital_signature: [`${TESSERA_POLICY_ARC}.1.3`],
  key_management: [`${TESSERA_POLICY_ARC}.1.4`],
};

/** RFC 5280 §4.2.1.3 bits, by name. */
export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';

export const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
};

export type SanKind = 'upn' | 'email' | 'uuid' | 'fascn';

export interface CertificateProfile {
  name: CertificateProfileName;
  label: string;
  slot: PivSlot;
  keyUsage(ecKey: boolean): KeyUsageName[];
  extendedKeyUsage: readonly string[];
  /** Whether the EKU extension is critical (the FPKI Card Authentication profile requires it). */
  extendedKeyUsageCritical: boolean;
  /** Whether the Microsoft SID extension is added when the person has a SID (Windows logon only). */
  sidExtension: boolean;
  /** Which subject alternative names the profile carries, in this order. */
  subjectAltNames: readonly SanKind[];
}

const profile = (
  name: CertificateProfileName,
  contents: Omit<CertificateProfile, 'name' | 'slot'>,
): CertificateProfile => ({ name, slot: PROFILE_SLOT[name], ...contents });

export const CERTIFICATE_PROFILES: Record<CertificateProfileName, CertificateProfile> = {
  piv_authentication: profile('piv_authentication', {
    label: 'PIV Authentication',
    keyUsage: () => ['digitalSignature'],
    // TLS client, Windows smart card logon, Kerberos PKINIT (FPKI PIV Authentication worksheet).
    extendedKeyUsage: [EKU.clientAuth, EKU.smartcardLogon, EKU.pkinitClientAuth],
    extendedKeyUsageCritical: false,
    sidExtension: true,
    // FASC-N and card UUID (FIPS 201-3 §4.2.1 / §5.2.1), UPN otherName for Windows logon, mailbox.
    subjectAltNames: ['fascn', 'uuid', 'upn', 'email'],
  }),
  card_authentication: profile('card_authentication', {
    label: 'Card Authentication',
    keyUsage: () => ['digitalSignature'],
    extendedKeyUsage: [EKU.pivCardAuth],
    // The FPKI Card Authentication profile: "id-PIV-cardAuth … critical".
    extendedKeyUsageCritical: true,
    sidExtension: false,
    subjectAltNames: ['fascn', 'uuid'],
  }),
  digital_signature: profile('digital_signature', {
    label: 'Digital Signature',
    keyUsage: () => ['digitalSignature', 'nonRepudiation'],
    // S/MIME and document signing (FPKI worksheet: the key purposes a signature key is used for).
    extendedKeyUsage: [
      EKU.emailProtection,
      EKU.documentSigning,
      EKU.msDocumentSigning,
      EKU.adobeAuthenticDocuments,
    ],
    extendedKeyUsageCritical: false,
    sidExtension: false,
    subjectAltNames: ['email'],
  }),
  key_management: profile('key_management', {
    label: 'Key Management',
    // RSA keys transport content-encryption keys; EC keys agree on them (RFC 5480 §3, RFC 5753).
    keyUsage: (ec) => (ec ? ['keyAgreement'] : ['keyEncipherment']),
    // S/MIME decryption and Windows EFS.
    extendedKeyUsage: [EKU.emailProtection, EKU.msEfs],
    extendedKeyUsageCritical: false,
    sidExtension: false,
    subjectAltNames: ['email'],
  }),
};

export function keyUsageFlags(names: readonly KeyUsageName[]): number {
  return names.reduce((acc, n) => acc | KEY_USAGE_BITS[n], 0);
}
