// A credential: a certificate and its key slot (DESIGN.md "Domain" → Credential). Its status mirrors
// the CA: "suspended" is certificateHold on the CRL and in OCSP (RFC 5280 §5.3.1), which the CA can
// lift again; "revoked" is final. A credential installed on several devices (a key-management
// certificate recovered onto a phone) has one status: suspending it anywhere suspends it everywhere.

import { defineMachine } from './state-machine.js';

export const CREDENTIAL_STATUSES = ['valid', 'suspended', 'revoked'] as const;
export type CredentialStatus = (typeof CREDENTIAL_STATUSES)[number];

export const CREDENTIAL_ACTIONS = ['suspend', 'reinstate', 'revoke'] as const;
export type CredentialAction = (typeof CREDENTIAL_ACTIONS)[number];

export const credentialMachine = defineMachine<CredentialStatus, CredentialAction>(
  'credential',
  CREDENTIAL_STATUSES,
  {
    suspend: { from: ['valid'], to: 'suspended' },
    reinstate: { from: ['suspended'], to: 'valid' },
    // A held certificate may be revoked outright (RFC 5280 §5.3.1: certificateHold may be followed
    // by revocation with another reason).
    revoke: { from: ['valid', 'suspended'], to: 'revoked' },
  },
);

export const credentialTransition = credentialMachine.transition;
export const allowedCredentialActions = credentialMachine.allowedActions;

/**
 * The reasons an operator may give when revoking, with their CRLReason codes (RFC 5280 §5.3.1).
 * Left out on purpose: certificateHold (6) is not a revocation here but the "suspend" action;
 * removeFromCRL (8) is a delta-CRL mechanism, not a reason a person picks; aACompromise (10) concerns
 * attribute certificates, which Tessera does not issue.
 */
export const REVOCATION_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  caCompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASON_CODES;

export const REVOCATION_REASONS = Object.keys(REVOCATION_REASON_CODES) as RevocationReason[];

/** CRLReason code of certificateHold (RFC 5280 §5.3.1): what a suspended credential shows. */
export const CERTIFICATE_HOLD_CODE = 6;

export function isRevocationReason(value: unknown): value is RevocationReason {
  return typeof value === 'string' && Object.hasOwn(REVOCATION_REASON_CODES, value);
}

/** The RFC 5280 CRLReason code to put in a CRL entry or an OCSP RevokedInfo. */
export function revocationReasonCode(reason: RevocationReason): number {
  return REVOCATION_REASON_CODES[reason];
}

/** The reason for a CRLReason code, or undefined for codes that are not revocation reasons here. */
export function revocationReasonFromCode(code: number): RevocationReason | undefined {
  return REVOCATION_REASONS.find((r) => REVOCATION_REASON_CODES[r] === code);
}
