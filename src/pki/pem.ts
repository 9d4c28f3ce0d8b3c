// PEM, the textual encoding of DER (RFC 7468): the one place Tessera writes and reads it.
// Certificates, chains, CSRs and keys arrive as PEM from people and leave as PEM for them; inside,
// everything is DER.
import { ValidationError } from '../domain/errors.js';

/** One PEM block with the base64 wrapped at 64 characters (RFC 7468 §2), ending in a newline. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Several DER objects as consecutive PEM blocks (a chain, most specific first). */
export function toPemChain(ders: readonly Uint8Array[], label = 'CERTIFICATE'): string {
  return ders.map((d) => toPem(d, label)).join('');
}

const block = (label: string, flags: string) =>
  new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, flags);

const decode = (body: string) => Buffer.from(body.replace(/\s+/g, ''), 'base64');

/** The DER of every block labelled `label`, in the order they stand; text between blocks is ignored. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Buffer[] {
  return [...text.matchAll(block(label, 'g'))].map((m) => decode(m[1]!));
}

/**
 * DER from DER bytes, or from PEM text (string, or bytes starting with "-") holding a block with
 * one of `labels` (the first label found wins).
 */
export function pemOrDer(input: Uint8Array | string, labels: readonly string[]): Buffer {
  const text = typeof input === 'string' ? input : null;
  const asText = text ?? (input[0] === 0x2d ? Buffer.from(input).toString('latin1') : null);
  if (asText === null) return Buffer.from(input as Uint8Array);
  for (const label of labels) {
    const m = block(label, '').exec(asText);
    if (m) return decode(m[1]!);
  }
  throw new ValidationError(`Expected PEM with label ${labels.join(' or ')}`);
}

/** Whether a private key PEM is password-protected (PKCS#8 EncryptedPrivateKeyInfo or legacy OpenSSL). */
export function isEncryptedKeyPem(text: string): boolean {
  return /ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(text);
}
