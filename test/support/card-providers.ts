// The card application's two crypto providers: the PIV card tests run against each, so the
// emulator (Node crypto) and the phone's wallet (WebCrypto, here Node's globalThis.crypto.subtle)
// show the same behaviour from one codebase.
import { createPrivateKey } from 'node:crypto';
import type { CardCrypto } from '../../src/cards/emulator/card-crypto.js';
import { NodeCardCrypto } from '../../src/cards/emulator/node-card-crypto.js';
import { WebCardCrypto } from '../../src/cards/emulator/web-card-crypto.js';

export interface CardCryptoProvider {
  name: string;
  make(): Promise<CardCrypto>;
  /** For tests that look for a key's secret where it must not be: the EC private scalar, hex. */
  secretOf(crypto: CardCrypto, storedPrivateKey: string): Promise<string>;
}

const storageKeys = new WeakMap<CardCrypto, CryptoKey>();

export const cardCryptos: CardCryptoProvider[] = [
  {
    name: 'node',
    make: async () => new NodeCardCrypto(),
    secretOf: async (_crypto, stored) => {
      const jwk = createPrivateKey({
        key: Buffer.from(stored, 'base64'),
        format: 'der',
        type: 'pkcs8',
      }).export({
        format: 'jwk',
      });
      return Buffer.from(jwk.d!, 'base64url').toString('hex');
    },
  },
  {
    name: 'webcrypto',
    make: async () => {
      const key = await WebCardCrypto.newStorageKey();
      const crypto = new WebCardCrypto(key);
      storageKeys.set(crypto, key);
      return crypto;
    },
    // Opens the sealed form with the storage key, as the wallet does for one operation.
    secretOf: async (crypto, stored) => {
      const [, iv, ct] = stored.split(':');
      const plain = await globalThis.crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: Buffer.from(iv!, 'base64url'),
          additionalData: new TextEncoder().encode('tessera wallet card key'),
        },
        storageKeys.get(crypto)!,
        Buffer.from(ct!, 'base64url'),
      );
      const jwk = JSON.parse(new TextDecoder().decode(plain)) as { d: string };
      return Buffer.from(jwk.d, 'base64url').toString('hex');
    },
  },
];
