// What a CA key is to the rest of the CA: something that signs bytes with a named algorithm and
// tells its public key. Certificates, CRLs and OCSP answers are built around it and never see the
// key itself, so a key held in an HSM (PKCS#11) or a cloud KMS plugs in as another Signer.
// SoftSigner is the key in this process's memory (a Node KeyObject).
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import {
  digestOf,
  generateKeyPair,
  spkiOf,
  type KeyAlgorithm,
  type SignatureAlgorithm,
} from './algorithms.js';

export type { SignatureAlgorithm } from './algorithms.js';

export interface Signer {
  /** The key's SubjectPublicKeyInfo, DER (what the CA's certificate must carry). */
  readonly spki: Buffer;
  /**
   * Signs `data` with `algorithm`. ECDSA signatures come as the DER ECDSA-Sig-Value that X.509,
   * CRLs and OCSP carry (RFC 5758 §3.2), not as r‖s.
   */
  sign(algorithm: SignatureAlgorithm, data: Uint8Array): Promise<Buffer>;
}

/** A private key held in memory. Node's crypto.sign returns DER ECDSA signatures already. */
export class SoftSigner implements Signer {
  readonly spki: Buffer;
  readonly #key: KeyObject;
  readonly #family: 'E' | 'R';

  constructor(privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new Error('A SoftSigner needs a private key');
    const t = privateKey.asymmetricKeyType;
    if (t !== 'ec' && t !== 'rsa') throw new Error(`A CA key must be EC or RSA, not ${String(t)}`);
    this.#key = privateKey;
    this.#family = t === 'ec' ? 'E' : 'R';
    this.spki = spkiOf(createPublicKey(privateKey));
  }

  /** A fresh key pair of `algorithm`. */
  static generate(algorithm: KeyAlgorithm): SoftSigner {
    return new SoftSigner(generateKeyPair(algorithm).privateKey);
  }

  async sign(algorithm: SignatureAlgorithm, data: Uint8Array): Promise<Buffer> {
    if (algorithm[0] !== this.#family)
      throw new Error(`This ${this.#family === 'E' ? 'EC' : 'RSA'} key cannot sign ${algorithm}`);
    return sign(digestOf(algorithm), data, this.#key);
  }
}
