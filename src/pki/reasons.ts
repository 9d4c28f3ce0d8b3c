// Revocation reasons (RFC 5280 §5.3.1). certificateHold is Tessera's "suspended"; the API's
// RevocationReason list excludes it (suspension has its own endpoint) and the codes a CA does not
// assign to end-entity certificates (removeFromCRL, aACompromise).
export const REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  caCompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;

export type CrlReason = keyof typeof REASON_CODES;
export type RevocationReason = Exclude<CrlReason, 'certificateHold'>;

export const REVOCATION_REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'caCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];

export function isRevocationReason(v: string): v is RevocationReason {
  return (REVOCATION_REASONS as readonly string[]).includes(v);
}
