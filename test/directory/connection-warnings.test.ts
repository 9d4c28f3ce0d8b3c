// A directory connection that works but is unsafe is said so with every successful test: plain
// LDAP across the network, or a certificate nobody checks. Loopback is left alone (a local proxy).
import { describe, expect, it } from 'vitest';
import { connectionWarnings } from '../../src/services/directory-service.js';

describe('directory connection warnings', () => {
  it('plain ldap:// to another host without StartTLS is "not encrypted"', () => {
    expect(connectionWarnings({ url: 'ldap://dc1.example.org', startTls: false, tlsVerify: true })).toEqual([
      expect.stringMatching(/not encrypted.*Use ldaps:\/\/ or turn on StartTLS/),
    ]);
  });

  it('StartTLS, ldaps:// with verification, and loopback are fine', () => {
    for (const c of [
      { url: 'ldap://dc1.example.org', startTls: true, tlsVerify: true },
      { url: 'ldaps://dc1.example.org', startTls: false, tlsVerify: true },
      { url: 'ldap://127.0.0.1:389', startTls: false, tlsVerify: true },
      { url: 'ldap://localhost', startTls: false, tlsVerify: true },
    ])
      expect(connectionWarnings(c)).toEqual([]);
  });

  it('TLS without verification is "not verified"', () => {
    expect(connectionWarnings({ url: 'ldaps://dc1.example.org', startTls: false, tlsVerify: false })).toEqual(
      [expect.stringMatching(/certificate is not verified/)],
    );
    expect(connectionWarnings({ url: 'ldap://dc1.example.org', startTls: true, tlsVerify: false })).toEqual([
      expect.stringMatching(/certificate is not verified/),
    ]);
  });
});
