// How failures the slapd tests cannot easily provoke are sorted: an expired certificate, a revoked
// one, a refused connection, a TLS protocol error, and result codes.
import { ConfidentialityRequiredError, InsufficientAccessError, ProtocolError } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DIRECTORY_CONFIG, type DirectoryConfig } from '../../src/directory/directory-config.js';
import { connectionError, resultError } from '../../src/directory/ldap-errors.js';

const cfg: DirectoryConfig = { ...DEFAULT_DIRECTORY_CONFIG, url: 'ldaps://ldap.example.org:636' };
const nodeError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('directory connection errors', () => {
  it('sorts certificate problems, naming what to change', () => {
    const expired = connectionError(cfg, nodeError('CERT_HAS_EXPIRED', 'certificate has expired'));
    expect(expired).toMatchObject({
      code: 'directory_certificate_rejected',
      details: { url: cfg.url, tlsError: 'CERT_HAS_EXPIRED' },
    });
    expect(expired.message).toMatch(/is expired .*renew the directory's certificate/);
    const early = connectionError(cfg, nodeError('CERT_NOT_YET_VALID', 'certificate is not yet valid'));
    expect(early.message).toMatch(/not valid yet .*clocks/);
    const revoked = connectionError(cfg, nodeError('CERT_REVOKED', 'certificate revoked'));
    expect(revoked.code).toBe('directory_certificate_rejected');
    expect(revoked.message).toMatch(/rejected the TLS certificate .*only for a test directory/);
  });

  it('sorts handshake, StartTLS and network failures', () => {
    expect(connectionError(cfg, nodeError('EPROTO', 'wrong version number')).code).toBe(
      'directory_tls_failed',
    );
    const plain = { ...cfg, url: 'ldap://ldap.example.org:389', startTls: true };
    expect(connectionError(plain, nodeError('ECONNRESET', 'socket hang up'), 'starttls')).toMatchObject({
      code: 'directory_tls_failed',
      message: expect.stringMatching(/after StartTLS/),
    });
    expect(
      connectionError(plain, new ProtocolError('unsupported extended operation'), 'starttls'),
    ).toMatchObject({ code: 'directory_starttls_refused', details: { resultCode: 2 } });
    const refused = connectionError(plain, nodeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:389'));
    expect(refused.code).toBe('directory_unreachable');
    expect(refused.message).toMatch(/could not be reached \(connect ECONNREFUSED/);
  });

  it('sorts result codes: TLS required, anything else as the server said', () => {
    expect(
      resultError(cfg, new ConfidentialityRequiredError('TLS confidentiality required'), 'to bind'),
    ).toMatchObject({
      code: 'directory_tls_required',
      details: { resultCode: 13 },
    });
    expect(resultError(cfg, new InsufficientAccessError('no read access'), 'a search')).toMatchObject({
      code: 'directory_error',
      message: expect.stringMatching(/^The directory refused a search: no read access/),
    });
  });
});
