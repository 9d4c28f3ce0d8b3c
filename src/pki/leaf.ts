// What an end-entity certificate is made of, and the checked way to build one: the stock
// @peculiar/x509 generator over WebCrypto. cert-template.ts is the fast way; tests hold the two
// to byte-identical TBSCertificates for the same inputs.
import type { KeyObject } from 'node:crypto';
import { isEcKey, signatureSchemeFor, type KeyAlgorithm } from './algorithms.js';
import { CERTIFICATE_PROFILES, keyUsageFlags, type CertificateProfileName } from './profiles.js';
import type { SigningCa } from './signing-ca.js';
import { subjectNameDer, type RenderedAttribute, type SubjectPerson } from './subject.js';
import { toArrayBuffer } from './der.js';
import { crypto, x509 } from './x509-lib.js';

export interface SanEntry {
  type: 'upn' | 'email' | 'uri';
  value: string;
}

export interface LeafInput {
  profile: CertificateProfileName;
  /** Serial magnitude, 16 bytes from randomSerial(). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  subject: RenderedAttribute[];
  subjectAltNames: SanEntry[];
  /** The subject's SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  /** Whether the subject key is an EC key (decides keyAgreement vs keyEncipherment). */
  ecKey: boolean;
}

export interface LeafOptions {
  /** certificatePolicies OIDs to assert (optional; e.g. an enterprise CP OID). */
  policies?: readonly string[];
}

/** Subject alternative names of a profile for a person (and the card UUID when known). */
export function subjectAltNamesFor(
  profile: CertificateProfileName,
  person: SubjectPerson,
  deviceUuid: string | null,
): SanEntry[] {
  const out: SanEntry[] = [];
  for (const kind of CERTIFICATE_PROFILES[profile].subjectAltNames) {
    if (kind === 'upn') {
      const upn = person.upn ?? person.email;
      if (upn) out.push({ type: 'upn', value: upn });
    } else if (kind === 'email') {
      if (person.email) out.push({ type: 'email', value: person.email });
    } else if (deviceUuid) {
      out.push({ type: 'uri', value: `urn:uuid:${deviceUuid.toLowerCase()}` });
    }
  }
  return out;
}

export function truncateToSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/**
 * The extensions that are the same for every certificate of one profile from one CA, split around
 * the per-certificate ones (SAN, SKI) in the order Tessera writes them:
 * KU, EKU | SAN, SKI | AKI, CRL DP, AIA, certificatePolicies.
 */
export function constantExtensions(
  profile: CertificateProfileName,
  ecKey: boolean,
  ca: Pick<SigningCa, 'keyIdentifier' | 'urls'>,
  opts: LeafOptions = {},
): { before: x509.Extension[]; after: x509.Extension[] } {
  const p = CERTIFICATE_PROFILES[profile];
  const before: x509.Extension[] = [
    new x509.KeyUsagesExtension(keyUsageFlags(p.keyUsage(ecKey)), true),
    new x509.ExtendedKeyUsageExtension([...p.extendedKeyUsage], false),
  ];
  const after: x509.Extension[] = [
    new x509.AuthorityKeyIdentifierExtension(ca.keyIdentifier.toString('hex'), false),
    new x509.CRLDistributionPointsExtension([ca.urls.crl], false),
    new x509.AuthorityInfoAccessExtension({ ocsp: [ca.urls.ocsp], caIssuers: [ca.urls.caIssuers] }, false),
  ];
  if (opts.policies?.length) after.push(new x509.CertificatePolicyExtension([...opts.policies], false));
  return { before, after };
}

const webKeys = new WeakMap<KeyObject, Promise<CryptoKey>>();

/**
 * A soft key as a WebCrypto CryptoKey for the @peculiar/x509 generator (imported once per
 * KeyObject). Only the checked path needs it: the CA itself signs through its Signer.
 */
export function webCryptoKey(privateKey: KeyObject, alg: KeyAlgorithm): Promise<CryptoKey> {
  let k = webKeys.get(privateKey);
  if (!k) {
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    const params = isEcKey(alg)
      ? { name: 'ECDSA', namedCurve: alg === 'ECCP384' ? 'P-384' : 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: signatureSchemeFor(alg).webcrypto.hash };
    k = crypto.subtle.importKey('pkcs8', pkcs8, params, false, ['sign']);
    webKeys.set(privateKey, k);
  }
  return k;
}

/**
 * Builds and signs a certificate through the stock @peculiar/x509 path over WebCrypto, with the
 * CA's key as `signingKey`. Returns DER. The reference the fast path is held to.
 */
export async function issueChecked(
  ca: SigningCa,
  signingKey: CryptoKey,
  input: LeafInput,
  opts: LeafOptions = {},
): Promise<Buffer> {
  const { before, after } = constantExtensions(input.profile, input.ecKey, ca, opts);
  const extensions: x509.Extension[] = [...before];
  if (input.subjectAltNames.length)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        input.subjectAltNames.map((s): x509.JsonGeneralName => ({
          type: s.type === 'uri' ? 'url' : s.type,
          value: s.value,
        })),
        // RFC 5280 §4.2.1.6: critical when the subject is empty.
        input.subject.length === 0,
      ),
    );
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(input.spki), false, crypto));
  extensions.push(...after);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: input.serial.toString('hex'),
      subject: new x509.Name(toArrayBuffer(subjectNameDer(input.subject))),
      issuer: new x509.Name(toArrayBuffer(ca.subjectDer)),
      notBefore: truncateToSeconds(input.notBefore),
      notAfter: truncateToSeconds(input.notAfter),
      publicKey: toArrayBuffer(input.spki),
      signingKey,
      signingAlgorithm: ca.scheme.webcrypto,
      extensions,
    },
    crypto,
  );
  return Buffer.from(cert.rawData);
}
