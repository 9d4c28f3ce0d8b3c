// What a device policy puts on a device: credential profiles, each one key pair generated in a PIV
// key slot and one certificate of a certificate profile (DESIGN.md "Domain" → Device policy).
// pki/profiles.ts says what each certificate profile's certificate contains; cards/ and
// services/card-keys.ts turn a slot name into the key reference on the card.
import type { CardKeyAlgorithm } from './key-algorithm.js';

/** The PIV key slots a credential may use (SP 800-73-4 §3.1, Table 4b). */
export const PIV_SLOTS = ['9a', '9c', '9d', '9e'] as const;
export type PivSlot = (typeof PIV_SLOTS)[number];

/** The certificate profiles, in the order of their slots. */
export const CERTIFICATE_PROFILE_NAMES = [
  'piv_authentication',
  'digital_signature',
  'key_management',
  'card_authentication',
] as const;
export type CertificateProfileName = (typeof CERTIFICATE_PROFILE_NAMES)[number];

export function isCertificateProfileName(v: string): v is CertificateProfileName {
  return (CERTIFICATE_PROFILE_NAMES as readonly string[]).includes(v);
}

/** The slot each certificate profile belongs in (SP 800-73-4 Table 4b). */
export const PROFILE_SLOT: Readonly<Record<CertificateProfileName, PivSlot>> = {
  piv_authentication: '9a',
  digital_signature: '9c',
  key_management: '9d',
  card_authentication: '9e',
};

export interface CredentialProfile {
  name: string;
  slot: PivSlot;
  keyAlgorithm: CardKeyAlgorithm;
  certificateProfile: CertificateProfileName;
  validityDays: number;
  archiveKey: boolean;
}
