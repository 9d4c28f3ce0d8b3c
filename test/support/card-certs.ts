// Certificates for card tests, made by openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small self-signed EC certificate (DER) made by openssl, subject CN=card test. */
export function selfSignedCertificate(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.der'),
        '-outform',
        'DER',
        '-subj',
        '/CN=card test',
        '-days',
        '30',
      ],
      { stdio: 'ignore' },
    );
    return Uint8Array.from(readFileSync(join(dir, 'c.der')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A certificate for a card's public key (SPKI DER), issued by a throwaway openssl CA: the card
 * key cannot self-sign through openssl, and the judges only need the certificate to carry it.
 */
export async function issueCertificateFor(spki: Uint8Array, cn: string): Promise<Uint8Array> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { writeFileSync } = await import('node:fs');
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ca-'));
  const at = (f: string): string => join(dir, f);
  try {
    writeFileSync(at('pub.der'), spki);
    await run('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', at('pub.der'), '-out', at('pub.pem')]);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.pem'),
      '-subj',
      '/CN=Test CA',
      '-days',
      '30',
    ]);
    await run('openssl', ['req', '-new', '-key', at('ca.key'), '-subj', `/CN=${cn}`, '-out', at('r.csr')]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at('r.csr'),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-force_pubkey',
      at('pub.pem'),
      '-days',
      '30',
      '-set_serial',
      '9',
      '-outform',
      'DER',
      '-out',
      at('c.der'),
    ]);
    return Uint8Array.from(readFileSync(at('c.der')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
