// Reading an enterprise issuing CA that an administrator brings: its certificate chain and private
// key, as PEM or as PKCS#12. What comes back is checked to be usable as Tessera's issuing CA: one
// certificate belongs to the key, it is a CA allowed to sign certificates (RFC 5280 §4.2.1.9,
// §4.2.1.3), it is valid now, and each certificate of the chain is signed by the next (§6.1).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';
import { keyAlgorithmOf, spkiOf } from './algorithms.js';
import { isEncryptedKeyPem, pemBlocks } from './pem.js';
import { importPkcs12 } from './pkcs12.js';
import { certificateParts } from './signing-ca.js';
import { x509 } from './x509-lib.js';

export type CaImport =
  { certificateChainPem: string; privateKeyPem: string } | { pkcs12Base64: string; password: string };

export interface ImportedCa {
  privateKey: KeyObject;
  /** The CA's own certificate first, then the ones above it as given. */
  chain: Buffer[];
}

function readKeyAndCertificates(input: CaImport): { key: KeyObject; certs: Buffer[] } {
  if ('pkcs12Base64' in input) {
    const p12 = importPkcs12(Buffer.from(input.pkcs12Base64, 'base64'), input.password);
    return { key: p12.privateKey, certs: p12.certificates };
  }
  if (isEncryptedKeyPem(input.privateKeyPem))
    throw new ValidationError(
      'The private key PEM is encrypted: import it as PKCS#12 with its password instead',
    );
  try {
    return { key: createPrivateKey(input.privateKeyPem), certs: pemBlocks(input.certificateChainPem) };
  } catch {
    throw new ValidationError('The private key PEM cannot be read (expected PKCS#8, SEC1 or PKCS#1 PEM)');
  }
}

export async function readCaImport(input: CaImport, now: Date): Promise<ImportedCa> {
  const { key, certs } = readKeyAndCertificates(input);
  if (certs.length === 0) throw new ValidationError('No certificate found in the chain');
  const spki = spkiOf(createPublicKey(key));
  const own = certs.findIndex((c) => {
    try {
      return certificateParts(c).spki.equals(spki);
    } catch {
      return false;
    }
  });
  if (own < 0) throw new ValidationError('None of the certificates belongs to the private key');
  const chain = [certs[own]!, ...certs.filter((_, i) => i !== own)];
  const parsed = chain.map((c) => new x509.X509Certificate(new Uint8Array(c)));
  const caCert = parsed[0]!;
  const bc = caCert.getExtension(x509.BasicConstraintsExtension);
  const ku = caCert.getExtension(x509.KeyUsagesExtension);
  if (!bc?.ca)
    throw new ValidationError('The certificate is not a CA certificate (basicConstraints cA is not set)');
  if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign))
    throw new ValidationError('The CA certificate does not allow certificate signing (keyUsage keyCertSign)');
  if (caCert.notAfter <= now || caCert.notBefore > now)
    throw new ValidationError('The CA certificate is not valid now', {
      notBefore: caCert.notBefore.toISOString(),
      notAfter: caCert.notAfter.toISOString(),
    });
  for (let i = 0; i + 1 < parsed.length; i++)
    if (!(await parsed[i]!.verify({ publicKey: parsed[i + 1]!.publicKey, signatureOnly: true })))
      throw new ValidationError(`Certificate ${i + 1} of the chain is not signed by certificate ${i + 2}`);
  if (!keyAlgorithmOf(key))
    throw new ValidationError('The CA key algorithm is not supported (P-256, P-384, RSA 2048-4096)');
  return { privateKey: key, chain };
}
