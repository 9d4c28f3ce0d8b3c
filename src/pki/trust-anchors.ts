// CA certificates an administrator pastes for Tessera to trust as a TLS client (e.g. the
// directory's private CA). They are read when saved: Node's TLS layer silently skips a `ca` entry
// it cannot read, which would surface only later as "certificate not trusted".
import { X509Certificate } from 'node:crypto';
import { pemBlocks } from './pem.js';

/** What is wrong with the PEM in setting `field`, as sentences that say what to paste instead. */
export function trustAnchorProblems(pem: string, field: string, now: Date): string[] {
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0)
    return [
      `${field} holds no certificate: paste the CA certificate in PEM form, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----`,
    ];
  const problems: string[] = [];
  blocks.forEach((der, i) => {
    const which = blocks.length > 1 ? `certificate ${i + 1} in ${field}` : field;
    try {
      const cert = new X509Certificate(der);
      if (Date.parse(cert.validTo) < now.getTime())
        problems.push(`${which} (${cert.subject.replace(/\n/g, ', ')}) expired on ${cert.validTo}`);
    } catch {
      problems.push(`${which} is not a readable X.509 certificate`);
    }
  });
  return problems;
}
