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
} as const;

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

export type SanKind = 'upn' | 'email' | 'uuid';

export interface CertificateProfile {
  name: CertificateProfileName;
  label: string;
  slot: PivSlot;
  keyUsage(ecKey: boolean): KeyUsageName[];
  extendedKeyUsage: readonly string[];
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
    extendedKeyUsage: [EKU.clientAuth, EKU.smartcardLogon],
    // UPN otherName for Windows smart card logon, the mailbox, and the card UUID URI (FIPS 201-3 §4.2.1).
    subjectAltNames: ['upn', 'email', 'uuid'],
  }),
  card_authentication: profile('card_authentication', {
    label: 'Card Authentication',
    keyUsage: () => ['digitalSignature'],
    extendedKeyUsage: [EKU.pivCardAuth],
    subjectAltNames: ['uuid'],
  }),
  digital_signature: profile('digital_signature', {
    label: 'Digital Signature',
    keyUsage: () => ['digitalSignature', 'nonRepudiation'],
    extendedKeyUsage: [EKU.emailProtection],
    subjectAltNames: ['email'],
  }),
  key_management: profile('key_management', {
    label: 'Key Management',
    // RSA keys transport content-encryption keys; EC keys agree on them (RFC 5480 §3, RFC 5753).
    keyUsage: (ec) => (ec ? ['keyAgreement'] : ['keyEncipherment']),
    extendedKeyUsage: [EKU.emailProtection],
    subjectAltNames: ['email'],
  }),
};

export function keyUsageFlags(names: readonly KeyUsageName[]): number {
  return names.reduce((acc, n) => acc | KEY_USAGE_BITS[n], 0);
}
