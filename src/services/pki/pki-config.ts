// The CA's settings as the server configures them, checked once at start-up, with their defaults.
// Each use case takes only the fields it needs.
import { parseKeyAlgorithm, type KeyAlgorithm } from '../../pki/algorithms.js';
import { CERTIFICATE_PROFILE_NAMES, type CertificateProfileName } from '../../domain/credential-profile.js';
import { DEMO_CERTIFICATE_POLICIES } from '../../pki/profiles.js';
import {
  DEFAULT_SUBJECT_TEMPLATE,
  checkSubjectTemplate,
  type SubjectAttributeTemplate,
} from '../../pki/subject.js';

export interface PkiConfig {
  /**
   * Base URL of this server as relying parties reach it: CRL DP, AIA and OCSP URLs derive from it.
   * Read when a CA is first used for signing (the object is kept, not copied), so a server that
   * learns its port after listening can still set it before issuing.
   */
  externalUrl: string;
  /** nextUpdate of each CRL = thisUpdate + this; a CRL is re-signed once half of it has passed. */
  crlValidityHours: number;
  /** Key algorithm for a newly created root and issuing CA: ECCP256 / ECDSA-P256, ECCP384 / ECDSA-P384, RSA2048 … RSA4096. */
  caAlgorithm: KeyAlgorithm | string;
  /** Organisation (O=) in the CA names. */
  organization?: string;
  /** Subject template for issued certificates (default CN=${displayName}, UID=${username}). */
  subjectTemplate?: readonly SubjectAttributeTemplate[];
  /** nextUpdate of OCSP answers, in seconds (default 3600). */
  ocspValiditySeconds?: number;
  /**
   * certificatePolicies OIDs asserted in issued certificates, per certificate profile (or one list
   * for all). Default: Tessera's private-arc OIDs (pki/profiles.ts DEMO_CERTIFICATE_POLICIES); an
   * empty list leaves the extension out.
   */
  certificatePolicies?: CertificatePolicies | readonly string[];
  /** Key algorithm of each CA's delegated OCSP responder (default ECDSA-P256). */
  ocspSignerAlgorithm?: KeyAlgorithm | string;
  /**
   * Key algorithm of a new PIV content signer, the key that signs every card's CHUID and Security
   * Object (default ECDSA-P256, whatever the CA's: decision 0032).
   */
  contentSignerAlgorithm?: KeyAlgorithm | string;
  /** Life of a delegated OCSP responder certificate in hours (default 168); renewed at half. */
  ocspSignerValidityHours?: number;
  /** How many pre-produced OCSP answers are kept in memory (default 100,000). */
  ocspCacheEntries?: number;
}

export type CertificatePolicies = Readonly<Record<CertificateProfileName, readonly string[]>>;

export interface PkiSettings {
  /** The configured external URL without a trailing slash, read at each call. */
  externalUrl(): string;
  crlValidityHours: number;
  caAlgorithm: KeyAlgorithm;
  organization: string;
  subjectTemplate: readonly SubjectAttributeTemplate[];
  ocspValiditySeconds: number;
  certificatePolicies: CertificatePolicies;
  ocspSignerAlgorithm: KeyAlgorithm;
  contentSignerAlgorithm: KeyAlgorithm;
  ocspSignerValidityHours: number;
  ocspCacheEntries: number;
}

const OID = /^[0-2](\.(0|[1-9]\d{0,38})){1,30}$/;

function policiesOf(c: PkiConfig['certificatePolicies']): CertificatePolicies {
  if (c === undefined) return DEMO_CERTIFICATE_POLICIES;
  const out = {} as Record<CertificateProfileName, readonly string[]>;
  for (const name of CERTIFICATE_PROFILE_NAMES) {
    const list = Array.isArray(c) ? c : ((c as CertificatePolicies)[name] ?? []);
    for (const oid of list)
      if (typeof oid !== 'string' || !OID.test(oid))
        throw new Error(`pki.certificatePolicies: "${String(oid)}" is not an object identifier (1.2.3…)`);
    out[name] = [...list];
  }
  return out;
}

export function pkiSettings(c: PkiConfig): PkiSettings {
  const caAlgorithm = parseKeyAlgorithm(c.caAlgorithm);
  if (!caAlgorithm)
    throw new Error(
      `pki.caAlgorithm "${c.caAlgorithm}" is not one of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096`,
    );
  if (!(c.crlValidityHours > 0)) throw new Error('pki.crlValidityHours must be positive');
  const ocspSignerAlgorithm = parseKeyAlgorithm(c.ocspSignerAlgorithm ?? 'ECCP256');
  if (!ocspSignerAlgorithm)
    throw new Error(
      `pki.ocspSignerAlgorithm "${String(c.ocspSignerAlgorithm)}" is not a supported key algorithm`,
    );
  const contentSignerAlgorithm = parseKeyAlgorithm(c.contentSignerAlgorithm ?? 'ECCP256');
  if (!contentSignerAlgorithm)
    throw new Error(
      `pki.contentSignerAlgorithm "${String(c.contentSignerAlgorithm)}" is not one of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096`,
    );
  const ocspValiditySeconds = c.ocspValiditySeconds ?? 3600;
  const ocspSignerValidityHours = c.ocspSignerValidityHours ?? 168;
  // A responder renewed at half its life must outlive every answer it signed.
  if (!(ocspValiditySeconds > 0) || ocspSignerValidityHours * 1800 < ocspValiditySeconds)
    throw new Error('pki.ocspSignerValidityHours must be at least twice the OCSP answer validity');
  return {
    externalUrl: () => c.externalUrl.replace(/\/+$/, ''),
    crlValidityHours: c.crlValidityHours,
    caAlgorithm,
    organization: c.organization ?? 'Tessera',
    subjectTemplate: c.subjectTemplate ? checkSubjectTemplate(c.subjectTemplate) : DEFAULT_SUBJECT_TEMPLATE,
    ocspValiditySeconds,
    certificatePolicies: policiesOf(c.certificatePolicies),
    ocspSignerAlgorithm,
    contentSignerAlgorithm,
    ocspSignerValidityHours,
    ocspCacheEntries: c.ocspCacheEntries ?? 100_000,
  };
}
