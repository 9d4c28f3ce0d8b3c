// What a PIV card application needs from cryptography, injected so one card codebase runs on
// Node's crypto (the emulator, `tessera card emulate`, the demo agent) and on WebCrypto (the phone's
// wallet, and Node's globalThis.crypto.subtle in tests). A private key is an opaque string the
// provider made: the card stores it and hands it back, never reads it.
import type { AsymmetricAlgorithm, ManagementKeyAlgorithm } from '../piv/constants.js';

export type PublicKeyParts =
  { kind: 'rsa'; n: Uint8Array; e: Uint8Array } | { kind: 'ec'; curve: 'P-256' | 'P-384'; point: Uint8Array };

/** Key material given to Yubico IMPORT KEY (RSA CRT parts; EC private scalar). */
export type KeyImport =
  | { kind: 'rsa'; p: Uint8Array; q: Uint8Array; dp: Uint8Array; dq: Uint8Array; qi: Uint8Array }
  | { kind: 'ec'; curve: 'P-256' | 'P-384'; d: Uint8Array };

export interface CardKeyPair {
  /** The provider's stored form of the private key (what the card's storage keeps). */
  privateKey: string;
  publicKey: PublicKeyParts;
}

/** Raised by a provider when the input to a private-key operation is not acceptable (the card answers 6A80). */
export class BadKeyInput extends Error {}

export interface CardCrypto {
  /** A name for logs and test titles ("node", "webcrypto"). */
  readonly name: string;
  /** One block of 3DES or AES in ECB, encrypt direction (all a card needs for management-key auth). */
  blockEncrypt(alg: ManagementKeyAlgorithm, key: Uint8Array, block: Uint8Array): Promise<Uint8Array>;
  generateKey(alg: AsymmetricAlgorithm): Promise<CardKeyPair>;
  importKey(material: KeyImport): Promise<CardKeyPair>;
  publicKey(privateKey: string): Promise<PublicKeyParts>;
  /** ECDSA over a digest the host computed (DER signature), or the raw RSA private operation. */
  privateOperation(privateKey: string, input: Uint8Array): Promise<Uint8Array>;
  /** ECDH: the x coordinate of d·P for the uncompressed point P. */
  ecdh(privateKey: string, point: Uint8Array): Promise<Uint8Array>;
  /** A WebCrypto signing key (ECDSA P-256, non-extractable) for the attestation key's stored form. */
  attestationSigner(privateKey: string): Promise<CryptoKey>;
}
