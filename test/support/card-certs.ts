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
