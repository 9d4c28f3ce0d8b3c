// A private OpenLDAP slapd for directory tests: slapd.conf and the database in a temp directory,
// listening on loopback on a free port, entries loaded with ldapadd, killed (by its PID) after.
// Without /usr/sbin/slapd the directory tests are skipped with a loud reason.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SLAPD = '/usr/sbin/slapd';
export const slapdAvailable = existsSync(SLAPD) && existsSync('/usr/bin/ldapadd');
if (!slapdAvailable)
  console.warn(
    `\n*** ${SLAPD} or ldapadd is missing: the LDAP directory tests are SKIPPED (run scripts/install-peers.sh) ***\n`,
  );

export const SUFFIX = 'dc=example,dc=org';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'slapd-admin-pw';

export interface Slapd {
  url: string;
  port: number;
  /** Adds entries (LDIF) as the root DN. */
  add(ldif: string): void;
  /** Deletes entries by DN. */
  remove(...dns: string[]): void;
  /** Applies an LDIF of changes (changetype: modify …). */
  modify(ldif: string): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

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

export async function startSlapd(): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-slapd-'));
  mkdirSync(join(dir, 'db'));
  const rootHash = execFileSync('/usr/sbin/slappasswd', ['-s', ROOT_PW], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(dir, 'slapd.conf'),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/nis.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
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
  const proc: ChildProcess = spawn(SLAPD, ['-h', `${url}/`, '-f', join(dir, 'slapd.conf'), '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`slapd did not start on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ldap = (tool: string, args: string[], input: string) =>
    execFileSync(tool, ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW, ...args], {
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const add = (ldif: string) => void ldap('/usr/bin/ldapadd', [], ldif);
  add(`dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`);
  return {
    url,
    port,
    add,
    remove: (...dns) => void ldap('/usr/bin/ldapdelete', [], dns.join('\n') + '\n'),
    modify: (ldif) => void ldap('/usr/bin/ldapmodify', [], ldif),
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
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
}): string {
  return [
    `dn: uid=${p.uid},ou=people,${SUFFIX}`,
    'objectClass: inetOrgPerson',
    `uid: ${p.uid}`,
    `cn: ${p.cn}`,
    `sn: ${p.sn ?? p.cn.split(' ').pop()}`,
    ...(p.mail ? [`mail: ${p.mail}`] : []),
    ...(p.employeeNumber ? [`employeeNumber: ${p.employeeNumber}`] : []),
    ...(p.departmentNumber ? [`departmentNumber: ${p.departmentNumber}`] : []),
    ...(p.password ? [`userPassword: ${p.password}`] : []),
    '',
  ].join('\n');
}

export const personDn = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;
