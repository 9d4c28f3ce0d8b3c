// Key algorithms, by the names Tessera uses everywhere: device policies, the CA's configuration,
// the API and the web app. pki/algorithms.ts turns a name into a curve or modulus and a signature
// scheme; services/card-keys.ts into the PIV algorithm identifier a card is asked to generate.

/** Every key algorithm Tessera generates or accepts; a CA may use any of them. */
export const KEY_ALGORITHMS = ['ECCP256', 'ECCP384', 'RSA2048', 'RSA3072', 'RSA4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export function isKeyAlgorithm(v: string): v is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(v);
}

/**
 * The keys a PIV card generates for a credential (SP 800-78-4 §3.1: RSA 2048, ECC P-256 and P-384),
 * in the order a policy editor offers them.
 */
export const CARD_KEY_ALGORITHMS = [
  'RSA2048',
  'ECCP256',
  'ECCP384',
] as const satisfies readonly KeyAlgorithm[];
export type CardKeyAlgorithm = (typeof CARD_KEY_ALGORITHMS)[number];
