// What went wrong talking to the directory, in words an administrator can act on. Node's TLS layer
// and ldapts report failures as bare codes ("SELF_SIGNED_CERT_IN_CHAIN", "unsupported extended
// operation"); each is sorted here into one stable ExternalError code whose message says what
// happened and what to change. Messages carry the URL and the peer's reason, never a password.
import { ConfidentialityRequiredError, ResultCodeError, StrongAuthRequiredError } from 'ldapts';
import { ExternalError } from '../domain/errors.js';
import type { DirectoryConfig } from './directory-config.js';

/** OpenSSL verification results meaning "no trusted CA issued this chain". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** Anything else OpenSSL or Node can say about the certificate itself. */
const OTHER_CERTIFICATE = new Set([
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));
const codeOf = (cause: unknown): string =>
  typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string'
    ? (cause as { code: string }).code
    : '';

const TURN_OFF_HINT =
  'Turning off "Verify the server\'s TLS certificate" (tlsVerify: false) makes it work but lets ' +
  'anyone in between pose as the directory and read the passwords sent to it: only for a test directory';

function certificateError(cfg: DirectoryConfig, code: string, cause: unknown): ExternalError {
  const reason = reasonOf(cause);
  const host = new URL(cfg.url).hostname.replace(/^\[|\]$/g, '');
  let message: string;
  if (UNTRUSTED.has(code))
    message = cfg.caCertificatePem
      ? `The directory at ${cfg.url} presented a TLS certificate that none of the configured CA ` +
        `certificates issued (${reason}). Check that "Trusted CA certificates" holds the certificate ` +
        `of the CA that issued the directory's certificate (with any intermediate CA). ${TURN_OFF_HINT}`
      : `The directory at ${cfg.url} presented a TLS certificate Tessera does not trust (${reason}), ` +
        `most likely because a CA of your own issued it. Paste that CA's certificate (PEM) into ` +
        `"Trusted CA certificates" (caCertificatePem). ${TURN_OFF_HINT}`;
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH')
    message =
      `The directory's TLS certificate is not issued for "${host}" (${reason}). Use in the URL a ` +
      `host name the certificate names, or have its certificate reissued to include "${host}"`;
  else if (EXPIRED.has(code))
    message =
      `The directory's TLS certificate at ${cfg.url} is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} ` +
      `(${reason}): renew the directory's certificate, or check the clocks of both servers`;
  else
    message = `Tessera rejected the TLS certificate of the directory at ${cfg.url} (${reason}). ${TURN_OFF_HINT}`;
  return new ExternalError(
    'directory_certificate_rejected',
    message,
    { url: cfg.url, tlsError: code },
    { cause },
  );
}

/**
 * A failure before the directory answered an operation: the certificate, the TLS handshake, or the
 * network. `phase` says whether a StartTLS upgrade was under way.
 */
export function connectionError(
  cfg: DirectoryConfig,
  cause: unknown,
  phase: 'starttls' | 'other' = 'other',
): ExternalError {
  if (cause instanceof ExternalError) return cause;
  const code = codeOf(cause);
  if (UNTRUSTED.has(code) || EXPIRED.has(code) || OTHER_CERTIFICATE.has(code))
    return certificateError(cfg, code, cause);
  const reason = reasonOf(cause);
  if (phase === 'starttls' && cause instanceof ResultCodeError)
    return new ExternalError(
      'directory_starttls_refused',
      `The directory at ${cfg.url} refused StartTLS (${reason}): turn on TLS on the directory ` +
        `server, or connect to its ldaps:// URL (usually port 636) with StartTLS off`,
      { url: cfg.url, resultCode: cause.code },
      { cause },
    );
  const tlsish =
    code.startsWith('ERR_SSL_') ||
    code === 'EPROTO' ||
    /TLS|SSL|handshake/i.test(reason) ||
    (phase === 'starttls' && code === 'ECONNRESET');
  if (tlsish)
    return new ExternalError(
      'directory_tls_failed',
      new URL(cfg.url).protocol === 'ldaps:'
        ? `The TLS handshake with the directory at ${cfg.url} failed (${reason}): check that this ` +
            `port speaks LDAPS (usually 636); for a plain LDAP port (usually 389) use an ldap:// URL ` +
            `with StartTLS`
        : `The TLS handshake after StartTLS with the directory at ${cfg.url} failed (${reason}): ` +
            `check the directory server's TLS configuration`,
      { url: cfg.url, ...(code ? { tlsError: code } : {}) },
      { cause },
    );
  return new ExternalError(
    'directory_unreachable',
    `The directory at ${cfg.url} could not be reached (${reason}): check the host and port ` +
      `(ldap:// usually 389, ldaps:// usually 636 — an ldap:// URL on an LDAPS port fails this way), ` +
      `the network and the firewall`,
    { url: cfg.url },
    { cause },
  );
}

/**
 * A result code the directory sent back for a bind or search. A directory that wants an encrypted
 * connection before any bind says so with confidentialityRequired (13) or strongerAuthRequired (8).
 */
export function resultError(cfg: DirectoryConfig, e: ResultCodeError, refused: string): ExternalError {
  if (e instanceof ConfidentialityRequiredError || e instanceof StrongAuthRequiredError)
    return new ExternalError(
      'directory_tls_required',
      `The directory at ${cfg.url} accepts a password only over an encrypted connection (${e.message}): ` +
        `turn on StartTLS, or use its ldaps:// URL`,
      { url: cfg.url, resultCode: e.code },
      { cause: e },
    );
  return new ExternalError(
    'directory_error',
    `The directory refused ${refused}: ${e.message}`,
    { resultCode: e.code },
    { cause: e },
  );
}
