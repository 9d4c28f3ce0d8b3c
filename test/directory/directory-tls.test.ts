// The directory over TLS against real slapd servers with a throwaway CA (test/support/slapd.ts):
// ldaps:// and StartTLS with the CA given, certificate verification failing without it (a typed
// error that says what to do, and nothing changed), verification off, a CA that is not the issuer,
// a certificate for other names, StartTLS where the server has no TLS, TLS and plain ports mixed
// up, a directory that requires TLS, and unreadable CA PEMs refused when saved. No error may carry
// the bind password or a person's password.
// TLS does not depend on the database engine: this suite runs on PGlite only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DIRECTORY_CONFIG } from '../../src/directory/directory-config.js';
import { ExternalError } from '../../src/domain/errors.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { DirectoryService, type DirectoryInput } from '../../src/services/directory-service.js';
import { UserService } from '../../src/services/user-service.js';
import { getUserByUsername } from '../../src/store/users-repo.js';
import {
  opensslAvailable,
  personDn,
  personLdif,
  ROOT_DN,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  unrelatedCaPem,
  type Slapd,
} from '../support/slapd.js';
import { admin, portalFixture, type PortalFixture } from '../services/portal-support.js';

function config(url: string, extra: Partial<DirectoryInput> = {}): DirectoryInput {
  return {
    ...DEFAULT_DIRECTORY_CONFIG,
    enabled: true,
    url,
    bindDn: ROOT_DN,
    bindPassword: ROOT_PW,
    baseDn: `ou=people,${SUFFIX}`,
    timeoutSeconds: 3,
    ...extra,
  };
}

async function withPeople(slapd: Slapd): Promise<Slapd> {
  slapd.add(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
  slapd.add(
    [
      personLdif({ uid: 'tina', cn: 'Tina Tls', mail: 'tina@example.org', password: 'Tina-Secret-1' }),
      personLdif({ uid: 'stan', cn: 'Stan Starttls', password: 'Stan-Secret-1' }),
    ].join('\n'),
  );
  return slapd;
}

const SECRETS = [ROOT_PW, 'Tina-Secret-1', 'Stan-Secret-1'];

/** The error a call failed with; it must be an ExternalError and carry no password. */
async function failure(p: Promise<unknown>): Promise<ExternalError> {
  const e = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ExternalError);
  const err = e as ExternalError;
  const shown = `${err.message} ${JSON.stringify(err.details ?? {})}`;
  for (const s of SECRETS) expect(shown).not.toContain(s);
  return err;
}

describe.skipIf(!slapdAvailable || !opensslAvailable)('directory over TLS (slapd)', () => {
  let slapd: Slapd;
  let tls: NonNullable<Slapd['tls']>;
  let f: PortalFixture;
  let svc: DirectoryService;
  const others: Slapd[] = [];

  /** What a failed sync must leave alone: the users and the audit log. */
  const snapshot = async () => ({
    users: await f.t.db.query(
      'SELECT id, username, state, display_name, roles, updated_at FROM users ORDER BY id',
    ),
    audit: await f.t.db.query('SELECT max(seq) AS s FROM audit_events'),
  });

  beforeAll(async () => {
    slapd = await withPeople(await startSlapd({ tls: true }));
    tls = slapd.tls!;
    f = await portalFixture('pglite');
    svc = new DirectoryService(f.ctx, MasterKey.generate(), new UserService(f.ctx));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([slapd, ...others].map((s) => s?.stop()));
    await f?.t.drop();
  });

  it('ldaps:// with the CA certificate: tests, syncs, checks passwords', async () => {
    const view = await svc.put(admin, config(tls.ldapsUrl, { caCertificatePem: tls.caPem }));
    expect(view).toMatchObject({ url: tls.ldapsUrl, tlsVerify: true, caCertificatePem: tls.caPem });
    expect(await svc.test()).toEqual({ ok: true, userCount: 2 });
    expect(await svc.sync(admin)).toMatchObject({ created: 2, updated: 0, suspended: 0, errors: [] });
    const tina = (await getUserByUsername(f.t.db, 'tina'))!;
    expect(tina).toMatchObject({ source: 'ldap', displayName: 'Tina Tls', email: 'tina@example.org' });
    expect(await svc.checkPassword(tina, 'Tina-Secret-1')).toBe(true);
    expect(await svc.checkPassword(tina, 'tina-secret-1')).toBe(false);
  });

  it('ldap:// with StartTLS and the CA certificate: the same', async () => {
    await svc.put(admin, config(slapd.url, { startTls: true, caCertificatePem: tls.caPem }));
    expect(await svc.test()).toEqual({ ok: true, userCount: 2 });
    slapd.modify(`dn: ${personDn('stan')}\nchangetype: modify\nreplace: cn\ncn: Stan S. Starttls\n`);
    expect(await svc.sync(admin)).toMatchObject({ created: 0, updated: 1, unchanged: 1, errors: [] });
    const stan = (await getUserByUsername(f.t.db, 'stan'))!;
    expect(stan.displayName).toBe('Stan S. Starttls');
    expect(await svc.checkPassword(stan, 'Stan-Secret-1')).toBe(true);
    expect(await svc.checkPassword(stan, 'Tina-Secret-1')).toBe(false);
  });

  it('verification on without the CA: directory_certificate_rejected says what to do, and nothing changes', async () => {
    // A person the directory has and Tessera not yet: a sync that went through would create them.
    slapd.add(personLdif({ uid: 'nina', cn: 'Nina New', password: 'Nina-Secret-1' }));
    const tina = (await getUserByUsername(f.t.db, 'tina'))!;
    for (const [url, startTls] of [
      [tls.ldapsUrl, false],
      [slapd.url, true],
    ] as const) {
      await svc.put(admin, config(url, { startTls, caCertificatePem: null }));
      const before = await snapshot();
      for (const call of [
        () => svc.test(),
        () => svc.sync(admin),
        () => svc.checkPassword(tina, 'Tina-Secret-1'),
      ]) {
        const e = await failure(call());
        expect(e.code).toBe('directory_certificate_rejected');
        expect(e.details).toEqual({ url, tlsError: 'SELF_SIGNED_CERT_IN_CHAIN' });
        expect(e.message).toContain(url);
        expect(e.message).toMatch(/TLS certificate Tessera does not trust \(self-signed certificate/);
        expect(e.message).toMatch(/Paste that CA's certificate \(PEM\) into "Trusted CA certificates"/);
        expect(e.message).toMatch(/tlsVerify: false.*only for a test directory/);
      }
      expect(await snapshot()).toEqual(before);
      expect(await getUserByUsername(f.t.db, 'nina')).toBeNull();
    }
  });

  it('a CA that did not issue the certificate is named as the problem', async () => {
    await svc.put(admin, config(tls.ldapsUrl, { caCertificatePem: unrelatedCaPem() }));
    const e = await failure(svc.test());
    expect(e.code).toBe('directory_certificate_rejected');
    expect(e.message).toMatch(/none of the configured CA certificates issued/);
  });

  it('verification off works without the CA (a test directory only)', async () => {
    for (const [url, startTls] of [
      [tls.ldapsUrl, false],
      [slapd.url, true],
    ] as const) {
      await svc.put(admin, config(url, { startTls, tlsVerify: false }));
      // It works, and the result says why it should not stay so.
      expect(await svc.test()).toEqual({
        ok: true,
        userCount: 3,
        warnings: [expect.stringMatching(/certificate is not verified/)],
      });
    }
    expect(await svc.sync(admin)).toMatchObject({ created: 1, errors: [] });
    const nina = (await getUserByUsername(f.t.db, 'nina'))!;
    expect(await svc.checkPassword(nina, 'Nina-Secret-1')).toBe(true);
  });

  it('a certificate issued for other names: the host name is the problem', async () => {
    const other = await withPeople(
      await startSlapd({ tls: true, certificateNames: ['DNS:ldap.example.org'] }),
    );
    others.push(other);
    await svc.put(admin, config(other.tls!.ldapsUrl, { caCertificatePem: other.tls!.caPem }));
    const e = await failure(svc.test());
    expect(e.code).toBe('directory_certificate_rejected');
    expect(e.details).toMatchObject({ tlsError: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(e.message).toMatch(/not issued for "127\.0\.0\.1"/);
  });

  it('plain and TLS ports mixed up, and StartTLS where the server has no TLS', async () => {
    // ldaps:// on the plain port: the TLS handshake meets LDAP.
    await svc.put(admin, config(slapd.url.replace('ldap:', 'ldaps:'), { caCertificatePem: tls.caPem }));
    let e = await failure(svc.test());
    expect(e.code).toBe('directory_tls_failed');
    expect(e.message).toMatch(/TLS handshake .* failed.*check that this port speaks LDAPS/);
    // ldap:// on the ldaps port: the server waits for a TLS hello and drops the connection.
    await svc.put(admin, config(tls.ldapsUrl.replace('ldaps:', 'ldap:')));
    e = await failure(svc.test());
    expect(e.code).toBe('directory_unreachable');
    expect(e.message).toMatch(/an ldap:\/\/ URL on an LDAPS port fails this way/);
    // StartTLS against a directory with no TLS configured.
    const plain = await withPeople(await startSlapd());
    others.push(plain);
    await svc.put(admin, config(plain.url, { startTls: true }));
    e = await failure(svc.sync(admin));
    expect(e.code).toBe('directory_starttls_refused');
    expect(e.message).toMatch(
      /refused StartTLS .*turn on TLS on the directory server, or connect to its ldaps:\/\//,
    );
  });

  it('a directory that requires TLS refuses a clear-text bind: directory_tls_required; StartTLS works', async () => {
    const strict = await withPeople(await startSlapd({ requireTls: true }));
    others.push(strict);
    await svc.put(admin, config(strict.url));
    const before = await snapshot();
    const e = await failure(svc.sync(admin));
    expect(e.code).toBe('directory_tls_required');
    expect(e.message).toMatch(
      /only over an encrypted connection.*turn on StartTLS, or use its ldaps:\/\/ URL/,
    );
    expect(await snapshot()).toEqual(before);
    await svc.put(admin, config(strict.url, { startTls: true, caCertificatePem: strict.tls!.caPem }));
    expect(await svc.test()).toEqual({ ok: true, userCount: 2 });
  });

  it('an unreadable CA certificate is refused when saved', async () => {
    const body = config(tls.ldapsUrl);
    await expect(svc.put(admin, { ...body, caCertificatePem: 'not a certificate' })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/caCertificatePem holds no certificate/),
    });
    await expect(
      svc.put(admin, {
        ...body,
        caCertificatePem: `${tls.caPem}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/certificate 2 in caCertificatePem is not a readable/),
    });
    // Blank means none.
    expect((await svc.put(admin, { ...body, caCertificatePem: '  \n' })).caCertificatePem).toBeNull();
  });
});
