// A private OpenLDAP slapd for directory tests: slapd.conf and the database in a temp directory,
// listening on loopback on a free port, entries loaded with ldapadd, killed (by its PID) after.
// With `tls`, a throwaway CA and a server certificate are made with openssl in that directory and
// slapd also speaks TLS: StartTLS on its ldap:// port and TLS from the start on an ldaps:// port.
// Without /usr/sbin/slapd the directory tests are skipped with a loud reason.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SLAPD = '/usr/sbin/slapd';
export const slapdAvailable = existsSync(SLAPD) && existsSync('/usr/bin/ldapadd');
/** The TLS tests also need openssl, to make their throwaway CA and server certificate. */
const OPENSSL = '/usr/bin/openssl';
export const opensslAvailable = existsSync(OPENSSL);
if (slapdAvailable && !opensslAvailable)
  console.warn(`\n*** ${OPENSSL} is missing: the LDAP-over-TLS directory tests are SKIPPED ***\n`);
if (!slapdAvailable)
  console.warn(
    `\n*** ${SLAPD} or ldapadd is missing: the LDAP directory tests are SKIPPED (run scripts/install-peers.sh) ***\n`,
  );

export const SUFFIX = 'dc=example,dc=org';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'slapd-admin-pw';

export interface Slapd {
  /** ldap://127.0.0.1:port (StartTLS is offered there when started with `tls`). */
  url: string;
  port: number;
  /** With `tls`: the ldaps:// URL, its port and the PEM of the CA that issued the server certificate. */
  tls: { ldapsUrl: string; ldapsPort: number; caPem: string } | null;
  /** Adds entries (LDIF) as the root DN. */
  add(ldif: string): void;
  /** Deletes entries by DN. */
  remove(...dns: string[]): void;
  /** Applies an LDIF of changes (changetype: modify …). */
  modify(ldif: string): void;
  stop(): Promise<void>;
}

import { freePort } from './free-port.js';

export { freePort };

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = new Socket();
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.connect(port, '127.0.0.1');
  });

export interface SlapdOptions {
  /** Also speak TLS: StartTLS on the ldap:// port, and an ldaps:// port (see Slapd.tls). */
  tls?: boolean;
  /** The server certificate's subjectAltName entries (default IP:127.0.0.1 and DNS:localhost). */
  certificateNames?: string[];
  /**
   * Refuse every operation but StartTLS, binds included, on a connection that is not encrypted
   * (`security tls=1`), as directories that forbid clear-text passwords do. Implies `tls`.
   */
  requireTls?: boolean;
  /**
   * Also load a small schema with Active Directory's objectSid (binary) and userPrincipalName, by
   * their AD OIDs, in an auxiliary class `adPerson`, so a test can serve what AD serves.
   */
  adAttributes?: boolean;
}

/** objectSid and userPrincipalName as Active Directory defines them (MS-ADA3), for slapd. */
const AD_SCHEMA = [
  "attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid'",
  '  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )',
  "attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'",
  '  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )',
  "objectclass ( 1.3.6.1.4.1.32473.1.9.1 NAME 'adPerson' AUXILIARY MAY ( objectSid $ userPrincipalName ) )",
  '',
].join('\n');

const openssl = (cwd: string, args: string[]) =>
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * A throwaway CA (P-256, two days) made with openssl in `dir`: writes `<name>.key` and `<name>.pem`
 * and returns the certificate's PEM.
 */
export function makeTestCa(dir: string, name = 'ca'): string {
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2',
    '-subj', `/CN=Tessera test CA ${name} ${randomBytes(4).toString('hex')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  return readFileSync(join(dir, `${name}.pem`), 'utf8');
}

/** The PEM of a CA that issued nothing any test server uses: a CA the directory cannot chain to. */
export function unrelatedCaPem(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ca-'));
  try {
    return makeTestCa(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A CA and a server certificate it issued for `names`, in `dir` (server.pem, server.key). The keys
 * are P-256 in PKCS#8 PEM, which openssl writes by default and slapd's GnuTLS reads.
 */
export function makeServerCertificate(dir: string, names: string[]): string {
  const caPem = makeTestCa(dir);
  openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=Tessera test directory',
  ]); // prettier-ignore
  writeFileSync(
    join(dir, 'server.ext'),
    [
      `subjectAltName=${names.join(',')}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2',
    '-extfile', 'server.ext', '-out', 'server.pem',
  ]); // prettier-ignore
  // slapd runs as the user the tests run as (no -u), so owner-only keys are readable to it.
  chmodSync(join(dir, 'server.key'), 0o600);
  chmodSync(join(dir, 'ca.key'), 0o600);
  return caPem;
}

async function waitForPort(proc: ChildProcess, port: number, what: string, stderr: () => string) {
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`slapd did not start on ${what}: ${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const withTls = !!(opts.tls || opts.requireTls);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-slapd-'));
  mkdirSync(join(dir, 'db'));
  const caPem = withTls
    ? makeServerCertificate(dir, opts.certificateNames ?? ['IP:127.0.0.1', 'DNS:localhost'])
    : null;
  if (opts.adAttributes) writeFileSync(join(dir, 'ad.schema'), AD_SCHEMA);
  const rootHash = execFileSync('/usr/sbin/slappasswd', ['-s', ROOT_PW], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(dir, 'slapd.conf'),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/nis.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      ...(opts.adAttributes ? [`include ${join(dir, 'ad.schema')}`] : []),
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      ...(withTls
        ? [
            `TLSCACertificateFile ${join(dir, 'ca.pem')}`,
            `TLSCertificateFile ${join(dir, 'server.pem')}`,
            `TLSCertificateKeyFile ${join(dir, 'server.key')}`,
          ]
        : []),
      ...(opts.requireTls ? ['security tls=1'] : []),
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${rootHash}`,
      `directory ${join(dir, 'db')}`,
      'maxsize 10485760',
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsPort = withTls ? await freePort() : 0;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  const listen = withTls ? `${url}/ ${ldapsUrl}/` : `${url}/`;
  const proc: ChildProcess = spawn(SLAPD, ['-h', listen, '-f', join(dir, 'slapd.conf'), '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(proc, port, url, () => stderr);
  if (withTls) await waitForPort(proc, ldapsPort, ldapsUrl, () => stderr);
  // The command-line tools load entries over the plain port, or over ldaps:// with the CA when
  // `requireTls` closes that (then the certificate must name 127.0.0.1).
  const overTls = !!opts.requireTls;
  const ldap = (tool: string, args: string[], input: string) =>
    execFileSync(tool, ['-x', '-H', overTls ? ldapsUrl : url, '-D', ROOT_DN, '-w', ROOT_PW, ...args], {
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: overTls ? { ...process.env, LDAPTLS_CACERT: join(dir, 'ca.pem') } : process.env,
    });
  const add = (ldif: string) => void ldap('/usr/bin/ldapadd', [], ldif);
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    add(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`);
  } catch (e) {
    // The caller gets no handle to stop it with: stop it here rather than leave it running.
    await stop();
    throw e;
  }
  return {
    url,
    port,
    tls: withTls ? { ldapsUrl, ldapsPort, caPem: caPem! } : null,
    add,
    remove: (...dns) => void ldap('/usr/bin/ldapdelete', [], dns.join('\n') + '\n'),
    modify: (ldif) => void ldap('/usr/bin/ldapmodify', [], ldif),
    stop,
  };
}

/** An inetOrgPerson entry under ou=people. */
export function personLdif(p: {
  uid: string;
  cn: string;
  sn?: string;
  mail?: string;
  employeeNumber?: string;
  departmentNumber?: string;
  password?: string;
  /** Bytes for jpegPhoto (written base64, as LDIF carries binary values). */
  jpegPhoto?: Buffer;
  /** Active Directory's attributes (needs startSlapd({ adAttributes: true })): a binary SID, a UPN. */
  objectSid?: Buffer;
  userPrincipalName?: string;
}): string {
  const ad = p.objectSid !== undefined || p.userPrincipalName !== undefined;
  return [
    `dn: uid=${p.uid},ou=people,${SUFFIX}`,
    'objectClass: inetOrgPerson',
    ...(ad ? ['objectClass: adPerson'] : []),
    `uid: ${p.uid}`,
    `cn: ${p.cn}`,
    `sn: ${p.sn ?? p.cn.split(' ').pop()}`,
    ...(p.mail ? [`mail: ${p.mail}`] : []),
    ...(p.employeeNumber ? [`employeeNumber: ${p.employeeNumber}`] : []),
    ...(p.departmentNumber ? [`departmentNumber: ${p.departmentNumber}`] : []),
    ...(p.password ? [`userPassword: ${p.password}`] : []),
    ...(p.jpegPhoto ? [`jpegPhoto:: ${p.jpegPhoto.toString('base64')}`] : []),
    ...(p.objectSid ? [`objectSid:: ${p.objectSid.toString('base64')}`] : []),
    ...(p.userPrincipalName ? [`userPrincipalName: ${p.userPrincipalName}`] : []),
    '',
  ].join('\n');
}

export const personDn = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;

/**
 * A directory configuration (the PUT /api/directory body) for this test slapd's layout: people
 * under ou=people, groups under ou=groups, bound as the root DN. `extra` overrides any field.
 */
export function directoryConfig(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enabled: true,
    url,
    startTls: false,
    tlsVerify: true,
    caCertificatePem: null,
    bindDn: ROOT_DN,
    baseDn: `ou=people,${SUFFIX}`,
    userFilter: '(objectClass=inetOrgPerson)',
    externalId: 'entryUUID',
    attributes: { username: 'uid', displayName: 'cn', email: 'mail' },
    properties: { employeeId: 'employeeNumber' },
    groups: {
      baseDn: `ou=groups,${SUFFIX}`,
      filter: '(objectClass=groupOfNames)',
      memberAttribute: 'member',
    },
    groupRoles: [],
    timeoutSeconds: 5,
    ...extra,
  };
}
