// Yubico PIV attestation for the virtual card: the card holds an attestation key in slot F9 and its
// certificate in object 5FFF01; ATTEST (INS F9) returns a certificate, signed by that key, for the
// public key of a key generated on the card, with Yubico's extensions (OIDs 1.3.6.1.4.1.41482.3.x:
// firmware version, serial, PIN/touch policy, form factor). A real token's attestation key is
// certified by Yubico; ours is self-certified, which says "this is a Tessera virtual card".
import 'reflect-metadata';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { ALGORITHM } from '../piv/constants.js';
import { randomBytes, toHex } from '../bytes.js';
import type { CardCrypto } from './card-crypto.js';
import { spkiOf } from './public-key.js';

/** The platform's WebCrypto (Node ≥ 19 and browsers): certificates are built and signed through it. */
const webCrypto = (): Crypto => globalThis.crypto;
/** A copy backed by a plain ArrayBuffer, as WebCrypto typings demand. */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);
const YUBICO = '1.3.6.1.4.1.41482.3';
const EC_SIGN = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface AttestationIdentity {
  /** The EC P-256 attestation key in the card crypto provider's stored form. */
  privateKey: string;
  /** DER of its certificate. */
  certificate: Uint8Array;
}

/** A positive certificate serial number of `n` random bytes, hex. */
const certSerial = (n: number): string => toHex(randomBytes(n)).replace(/^[89a-f]/, '1');

/** A new attestation key and its self-signed CA certificate for card `serial`. */
export async function newAttestationIdentity(
  serial: number,
  provider: CardCrypto,
): Promise<AttestationIdentity> {
  const { privateKey, publicKey } = await provider.generateKey(ALGORITHM.ECC_P256);
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: certSerial(8),
      subject: `CN=Tessera Virtual PIV Attestation ${serial}`,
      issuer: `CN=Tessera Virtual PIV Attestation ${serial}`,
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2074-01-01T00:00:00Z'),
      publicKey: own(spkiOf(publicKey)),
      signingKey: await provider.attestationSigner(privateKey),
      signingAlgorithm: EC_SIGN,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true),
      ],
    },
    webCrypto(),
  );
  return { privateKey, certificate: new Uint8Array(cert.rawData) };
}

function derInteger(n: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  const body = hex.match(/../g)!.map((h) => Number.parseInt(h, 16));
  return Uint8Array.of(0x02, body.length, ...body);
}

export interface AttestRequest {
  identity: AttestationIdentity;
  provider: CardCrypto;
  slot: number;
  slotPublicKeySpki: Uint8Array;
  serial: number;
  version: readonly [number, number, number];
  pinPolicy: number;
  touchPolicy: number;
}

/** The attestation certificate for a slot's key (DER). */
export async function attest(r: AttestRequest): Promise<Uint8Array> {
  const issuer = new X509Certificate(own(r.identity.certificate));
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: certSerial(16),
      subject: `CN=YubiKey PIV Attestation ${r.slot.toString(16)}`,
      issuer: issuer.subject,
      notBefore: issuer.notBefore,
      notAfter: issuer.notAfter,
      publicKey: own(r.slotPublicKeySpki),
      signingKey: await r.provider.attestationSigner(r.identity.privateKey),
      signingAlgorithm: EC_SIGN,
      extensions: [
        new Extension(`${YUBICO}.3`, false, Uint8Array.from(r.version)),
        new Extension(`${YUBICO}.7`, false, own(derInteger(r.serial))),
        new Extension(`${YUBICO}.8`, false, Uint8Array.of(r.pinPolicy, r.touchPolicy)),
        new Extension(`${YUBICO}.9`, false, Uint8Array.of(0x01)),
      ],
    },
    webCrypto(),
  );
  return new Uint8Array(cert.rawData);
}
