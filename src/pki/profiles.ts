// Certificate profiles for the four PIV key slots (NIST SP 800-73-4 §3.1; certificate contents
// after the X.509 Certificate and CRL Extensions Profile for PIV, FIPS 201-3 / "PIV cert profile").
// A device policy's credential profile names one of these; validity comes from the policy.
export type CertificateProfileName =
  'piv_authentication' | 'card_authentication' | 'digital_signature' | 'key_management';

export const CERTIFICATE_PROFILE_NAMES: readonly CertificateProfileName[] = [
  'piv_authentication',
  'card_authentication',
  'digital_signature',
  'key_management',
];

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
  slot: '9a' | '9c' | '9d' | '9e';
  keyUsage(ecKey: boolean): KeyUsageName[];
  extendedKeyUsage: readonly string[];
  /** Which subject alternative names the profile carries, in this order. */
  subjectAltNames: readonly SanKind[];
}

export const CERTIFICATE_PROFILES: Record<CertificateProfileName, CertificateProfile> = {
  piv_authentication: {
    name: 'piv_authentication',
    label: 'PIV Authentication',
    slot: '9a',
    keyUsage: () => ['digitalSignature'],
    extendedKeyUsage: [EKU.clientAuth, EKU.smartcardLogon],
    // UPN otherName for Windows smart card logon, the mailbox, and the card UUID URI (FIPS 201-3 §4.2.1).
    subjectAltNames: ['upn', 'email', 'uuid'],
  },
  card_authentication: {
    name: 'card_authentication',
    label: 'Card Authentication',
    slot: '9e',
    keyUsage: () => ['digitalSignature'],
    extendedKeyUsage: [EKU.pivCardAuth],
    subjectAltNames: ['uuid'],
  },
  digital_signature: {
    name: 'digital_signature',
    label: 'Digital Signature',
    slot: '9c',
    keyUsage: () => ['digitalSignature', 'nonRepudiation'],
    extendedKeyUsage: [EKU.emailProtection],
    subjectAltNames: ['email'],
  },
  key_management: {
    name: 'key_management',
    label: 'Key Management',
    slot: '9d',
    // RSA keys transport content-encryption keys; EC keys agree on them (RFC 5480 §3, RFC 5753).
    keyUsage: (ec) => (ec ? ['keyAgreement'] : ['keyEncipherment']),
    extendedKeyUsage: [EKU.emailProtection],
    subjectAltNames: ['email'],
  },
};

export function isCertificateProfileName(v: string): v is CertificateProfileName {
  return (CERTIFICATE_PROFILE_NAMES as readonly string[]).includes(v);
}

export function keyUsageFlags(names: readonly KeyUsageName[]): number {
  return names.reduce((acc, n) => acc | KEY_USAGE_BITS[n], 0);
}
