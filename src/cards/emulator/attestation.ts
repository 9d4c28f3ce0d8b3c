// Yubico PIV attestation for the virtual card: the card holds an attestation key in slot F9 and its
// certificate in object 5FFF01; ATTEST (INS F9) returns a certificate, signed by that key, for the
// public key of a key generated on the card, with Yubico's extensions (OIDs 1.3.6.1.4.1.41482.3.x:
// firmware version, serial, PIN/touch policy, form factor). A real token's attestation key is
// certified by Yubico; ours is self-certified, which says "this is a Tessera virtual card".
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
/** A copy backed by a plain ArrayBuffer, as WebCrypto typings demand. */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);
const YUBICO = '1.3.6.1.4.1.41482.3';
const EC_SIGN = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface AttestationIdentity {
  /** PKCS#8 DER of the EC P-256 attestation key, base64. */
  privateKey: string;
  /** DER of its certificate. */
  certificate: Uint8Array;
}

async function importSigningKey(pkcs8B64: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', Buffer.from(pkcs8B64, 'base64'), EC_SIGN, false, ['sign']);
}

/** A new attestation key and its self-signed CA certificate for card `serial`. */
export async function newAttestationIdentity(serial: number): Promise<AttestationIdentity> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomBytes(8)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `CN=Tessera Virtual PIV Attestation ${serial}`,
      issuer: `CN=Tessera Virtual PIV Attestation ${serial}`,
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2074-01-01T00:00:00Z'),
      publicKey: Uint8Array.from(publicKey.export({ format: 'der', type: 'spki' })),
      signingKey: await importSigningKey(pkcs8),
      signingAlgorithm: EC_SIGN,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true),
      ],
    },
    crypto,
  );
  return { privateKey: pkcs8, certificate: new Uint8Array(cert.rawData) };
}

function derInteger(n: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  const body = Buffer.from(hex, 'hex');
  return Uint8Array.from(Buffer.concat([Buffer.of(0x02, body.length), body]));
}

export interface AttestRequest {
  identity: AttestationIdentity;
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
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `CN=YubiKey PIV Attestation ${r.slot.toString(16)}`,
      issuer: issuer.subject,
      notBefore: issuer.notBefore,
      notAfter: issuer.notAfter,
      publicKey: own(r.slotPublicKeySpki),
      signingKey: await importSigningKey(r.identity.privateKey),
      signingAlgorithm: EC_SIGN,
      extensions: [
        new Extension(`${YUBICO}.3`, false, Uint8Array.from(r.version)),
        new Extension(`${YUBICO}.7`, false, own(derInteger(r.serial))),
        new Extension(`${YUBICO}.8`, false, Uint8Array.of(r.pinPolicy, r.touchPolicy)),
        new Extension(`${YUBICO}.9`, false, Uint8Array.of(0x01)),
      ],
    },
    crypto,
  );
  return new Uint8Array(cert.rawData);
}
