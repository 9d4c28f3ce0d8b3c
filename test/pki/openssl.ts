// openssl as the judge: runs the openssl CLI on files in a private temp directory.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.warn('SKIPPING openssl-judged PKI tests: the openssl command is not installed');

export { toPem } from '../../src/pki/pem.js';

/** openssl req arguments for a new P-256 key. */
export const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] as const;

export class OpensslDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'tessera-pki-'));
  file(name: string, data: string | Uint8Array): string {
    const p = join(this.dir, name);
    writeFileSync(p, data);
    return p;
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  /** Runs openssl; returns stdout+stderr and the exit status (never throws on a non-zero exit). */
  run(args: string[], input?: Uint8Array): { status: number; out: string } {
    const r = spawnSync('openssl', args, { cwd: this.dir, input, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }
  /** Like run, but without blocking the event loop: for openssl talking to a server in this process. */
  runAsync(args: string[]): Promise<{ status: number; out: string }> {
    return new Promise((resolve) => {
      execFile(
        'openssl',
        args,
        { cwd: this.dir, encoding: 'utf8', timeout: 30_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ status: code, out: `${stdout}${stderr}` });
        },
      );
    });
  }
  /** A PKCS#10 request (PEM) for a new key made with `keyArgs`; the key is left in `${name}.key`. */
  csr(name: string, keyArgs: readonly string[] = NEW_P256_KEY, subject = '/CN=ignored'): string {
    this.runOk([
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-subj',
      subject,
      '-out',
      `${name}.csr`,
    ]);
    return this.runOk(['req', '-in', `${name}.csr`]);
  }
  /** A DER OCSP request (with a nonce) for `leaf` issued by `issuer` (files in this directory). */
  ocspRequest(issuer: string, leaf: string): Buffer {
    this.run(['ocsp', '-issuer', issuer, '-cert', leaf, '-reqout', 'ocsp-request.der']);
    return Buffer.from(this.runOk(['base64', '-A', '-in', 'ocsp-request.der']), 'base64');
  }
  /** openssl's reading of a DER OCSP response about `leaf`, verified against `caFile`. */
  ocspReading(response: Uint8Array, o: { issuer: string; leaf: string; caFile: string }): string {
    this.file('ocsp-response.der', response);
    return this.run([
      'ocsp',
      '-no_nonce',
      '-respin',
      'ocsp-response.der',
      '-issuer',
      o.issuer,
      '-cert',
      o.leaf,
      '-CAfile',
      o.caFile,
      '-resp_text',
    ]).out;
  }
  runOk(args: string[]): string {
    return execFileSync('openssl', args, {
      cwd: this.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A certificate's validity as openssl reads it, in ISO 8601 (`-dateopt iso_8601`) and parsed: its
 * default text pads one-digit days with a space, so it is never compared as text.
 */
export function opensslValidity(ssl: OpensslDir, pemFile: string): { notBefore: Date; notAfter: Date } {
  const out = ssl.runOk(['x509', '-in', pemFile, '-noout', '-startdate', '-enddate', '-dateopt', 'iso_8601']);
  const when = (field: string) => {
    const m = new RegExp(`^${field}=(\\d{4}-\\d{2}-\\d{2}) (\\d{2}:\\d{2}:\\d{2})Z$`, 'm').exec(out);
    if (!m) throw new Error(`openssl printed no ${field}:\n${out}`);
    return new Date(`${m[1]}T${m[2]}Z`);
  };
  return { notBefore: when('notBefore'), notAfter: when('notAfter') };
}

/**
 * What a server's OCSP responder says of each certificate, asked with openssl: "good", "revoked",
 * or "revoked (keyCompromise)" when a reason is given. Each certificate must first verify against
 * its CA's chain, and each answer's signature must verify.
 */
export async function ocspStatuses(
  ssl: OpensslDir,
  baseUrl: string,
  certs: readonly { id: string; caId: string }[],
  pemOf: (certificateId: string) => Promise<string>,
): Promise<string[]> {
  const ca = certs[0]!.caId;
  ssl.file('chain.pem', await (await fetch(`${baseUrl}/pki/ca/${ca}/chain.pem`)).text());
  ssl.file('issuing.pem', await (await fetch(`${baseUrl}/pki/ca/${ca}.pem`)).text());
  const out: string[] = [];
  for (const c of certs) {
    ssl.file(`${c.id}.pem`, await pemOf(c.id));
    expect(ssl.run(['verify', '-CAfile', 'chain.pem', `${c.id}.pem`]).out).toContain(': OK');
    const r = await ssl.runAsync(
      ['ocsp', '-issuer', 'issuing.pem', '-cert', `${c.id}.pem`, '-url', `${baseUrl}/pki/ocsp`, '-CAfile', 'chain.pem'], // prettier-ignore
    );
    expect(r.out).toContain('Response verify OK');
    const status = /\.pem: (\w+)/.exec(r.out)?.[1] ?? '?';
    const reason = /Reason: (\w+)/.exec(r.out)?.[1];
    out.push(reason ? `${status} (${reason})` : status);
  }
  return out;
}
