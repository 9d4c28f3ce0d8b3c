// What the API shows of an issued certificate: the summary in lists and after each change, and
// the detail with the decoded certificate and its PEM.
import type { CertificateDecoded } from '../../pki/describe.js';
import type { CertificateRecord } from '../../store/certificate-repo.js';

export type { CertificateStatus } from '../../store/certificate-repo.js';

/** The record's fields, with times as ISO 8601 strings. */
export interface CertificateSummary extends Pick<
  CertificateRecord,
  | 'id'
  | 'serial'
  | 'caId'
  | 'userId'
  | 'deviceId'
  | 'credentialId'
  | 'profile'
  | 'slot'
  | 'subject'
  | 'status'
  | 'revocationReason'
> {
  notBefore: string;
  notAfter: string;
  revokedAt: string | null;
}

export type CertificateDetail = CertificateSummary & CertificateDecoded & { pem: string };

export function certificateSummary(
  r: Omit<CertificateRecord, 'der' | 'keyAlgorithm' | 'createdAt' | 'updatedAt'>,
): CertificateSummary {
  return {
    id: r.id,
    serial: r.serial,
    caId: r.caId,
    userId: r.userId,
    deviceId: r.deviceId,
    credentialId: r.credentialId,
    profile: r.profile,
    slot: r.slot,
    subject: r.subject,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    status: r.status,
    revocationReason: r.revocationReason,
    revokedAt: r.revokedAt ? r.revokedAt.toISOString() : null,
  };
}
