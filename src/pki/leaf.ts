// What an end-entity certificate is made of, and the checked way to build one: the stock
// @peculiar/x509 generator over WebCrypto. cert-template.ts is the fast way; tests hold the two
// to byte-identical TBSCertificates for the same inputs.
import type { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { GeneralName, GeneralNames, OtherName } from '@peculiar/asn1-x509';
import { isEcKey, signatureSchemeFor, type KeyAlgorithm } from './algorithms.js';
import { CERTIFICATE_PROFILES, PIV_OID, keyUsageFlags, type CertificateProfileName } from './profiles.js';
import type { SigningCa } from './signing-ca.js';
import { subjectNameDer, type RenderedAttribute, type SubjectPerson } from './subject.js';
import { toArrayBuffer } from './der.js';
import { crypto, x509 } from './x509-lib.js';

export interface SanEntry {
  /** fascn: the value is the 25-byte FASC-N in hex. */
  type: 'upn' | 'email' | 'uri' | 'fascn';
  value: string;
}

/** The card a certificate is for: its UUID (the CHUID's GUID) and FASC-N, when known. */
export interface CardIdentity {
  uuid: string | null;
  fascn: Uint8Array | null;
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
  /**
   * The person's Windows security identifier (S-1-5-21-…), for the SID extension of profiles that
   * carry one (KB5014754 strong mapping); absent or null: no SID extension.
   */
  sid?: string | null;
}

export interface LeafOptions {
  /** certificatePolicies OIDs this profile asserts (FIPS 201-3 §5.2.1; none: no extension). */
  policies?: readonly string[];
}

/**
 * Subject alternative names of a profile for a person and a card. The UPN is the person's own (from
 * the directory): one made up from the mail address would map the card to the wrong account, or to
 * none, so a person without a UPN gets none.
 */
export function subjectAltNamesFor(
  profile: CertificateProfileName,
  person: SubjectPerson,
  card: CardIdentity,
): SanEntry[] {
  const out: SanEntry[] = [];
  for (const kind of CERTIFICATE_PROFILES[profile].subjectAltNames) {
    if (kind === 'upn') {
      if (person.upn) out.push({ type: 'upn', value: person.upn });
    } else if (kind === 'email') {
      if (person.email) out.push({ type: 'email', value: person.email });
    } else if (kind === 'fascn') {
      if (card.fascn) out.push({ type: 'fascn', value: Buffer.from(card.fascn).toString('hex') });
    } else if (card.uuid) {
      out.push({ type: 'uri', value: `urn:uuid:${card.uuid.toLowerCase()}` });
    }
  }
  return out;
}

/** A Windows SID in its string form (S-1-5-21-…), the only form Tessera writes into a certificate. */
export const SID_PATTERN = /^S-1-\d{1,14}(-\d{1,10}){1,15}$/;

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
    new x509.ExtendedKeyUsageExtension([...p.extendedKeyUsage], p.extendedKeyUsageCritical),
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
      new x509.Extension(
        '2.5.29.17',
        // RFC 5280 §4.2.1.6: critical when the subject is empty.
        input.subject.length === 0,
        AsnConvert.serialize(new GeneralNames(input.subjectAltNames.map(schemaGeneralName))),
      ),
    );
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(toArrayBuffer(input.spki), false, crypto));
  const sid = sidFor(input);
  if (sid)
    extensions.push(
      new x509.Extension(
        PIV_OID.ntdsCaSecurityExt,
        false,
        AsnConvert.serialize(
          new GeneralNames([
            new GeneralName({
              otherName: new OtherName({
                typeId: PIV_OID.ntdsObjectSid,
                value: AsnConvert.serialize(new OctetString(Buffer.from(sid, 'ascii'))),
              }),
            }),
          ]),
        ),
      ),
    );
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

/** The SID to write for this input: only profiles that carry one, only a well-formed one. */
export function sidFor(input: Pick<LeafInput, 'profile' | 'sid'>): string | null {
  if (!CERTIFICATE_PROFILES[input.profile].sidExtension || !input.sid) return null;
  if (!SID_PATTERN.test(input.sid)) throw new Error(`"${input.sid}" is not a Windows SID (S-1-5-21-…)`);
  return input.sid;
}

/** A SAN entry through the asn1-x509 schema classes (the checked path's encoder). */
function schemaGeneralName(s: SanEntry): GeneralName {
  switch (s.type) {
    case 'upn':
      return new GeneralName({
        otherName: new OtherName({
          typeId: PIV_OID.upnOtherName,
          value: new asn1js.Utf8String({ value: s.value }).toBER(),
        }),
      });
    case 'fascn':
      return new GeneralName({
        otherName: new OtherName({
          typeId: PIV_OID.fascnOtherName,
          value: AsnConvert.serialize(new OctetString(Buffer.from(s.value, 'hex'))),
        }),
      });
    case 'email':
      return new GeneralName({ rfc822Name: s.value });
    case 'uri':
      return new GeneralName({ uniformResourceIdentifier: s.value });
  }
}
