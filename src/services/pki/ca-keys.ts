// Where CA private keys live and how a CA gets its Signer back. Today they are soft keys: PKCS#8
// encrypted by the master key under the purpose `ca-key:<CA id>` and kept in the CA's row, so a
// ciphertext cannot be replayed as another kind of secret. A PKCS#11/HSM store would keep a key
// reference in that column instead and hand out Signers that sign inside the token.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { generateKeyPair, type KeyAlgorithm } from '../../pki/algorithms.js';
import { SoftSigner, type Signer } from '../../pki/signer.js';
import type { MasterKey } from '../../secrets/master-key.js';

export interface StoredCaKey {
  signer: Signer;
  /** What the CA's row keeps so the key can be opened again (never the key in the clear). */
  sealed: Buffer;
}

export interface CaKeyStore {
  /** A new key pair for CA `caId`. */
  generate(caId: string, algorithm: KeyAlgorithm): Promise<StoredCaKey>;
  /** Takes an imported private key into the store. */
  adopt(caId: string, privateKey: KeyObject): Promise<StoredCaKey>;
  /** The Signer of a key the store sealed earlier. */
  open(caId: string, sealed: Buffer): Promise<Signer>;
}

const purpose = (caId: string) => `ca-key:${caId}`;

export class SoftCaKeys implements CaKeyStore {
  readonly #mk: Pick<MasterKey, 'encrypt' | 'decrypt'>;

  constructor(masterKey: Pick<MasterKey, 'encrypt' | 'decrypt'>) {
    this.#mk = masterKey;
  }

  async generate(caId: string, algorithm: KeyAlgorithm): Promise<StoredCaKey> {
    return this.adopt(caId, generateKeyPair(algorithm).privateKey);
  }

  async adopt(caId: string, privateKey: KeyObject): Promise<StoredCaKey> {
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    return { signer: new SoftSigner(privateKey), sealed: this.#mk.encrypt(pkcs8, purpose(caId)) };
  }

  async open(caId: string, sealed: Buffer): Promise<Signer> {
    const pkcs8 = this.#mk.decrypt(sealed, purpose(caId));
    return new SoftSigner(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
  }
}
