// Proof of possession for keys generated on a card (no CSR): the server sends a fresh random
// challenge, the card signs it with the new key (PIV GENERAL AUTHENTICATE, SP 800-73-4 §3.2.4),
// and the signature must verify under the public key the card returned. ECDSA signatures are
// accepted DER-encoded or as r‖s (how cards and WebCrypto return them).
import { randomBytes, verify, type KeyObject } from 'node:crypto';

export interface SignedChallenge {
  challenge: Buffer;
  signature: Buffer;
  /** Digest the card signed with (default sha256). */
  hash?: 'sha256' | 'sha384';
}

export function newChallenge(): Buffer {
  return randomBytes(32);
}

export function verifyPossession(publicKey: KeyObject, proof: SignedChallenge): boolean {
  const hash = proof.hash ?? 'sha256';
  try {
    if (publicKey.asymmetricKeyType === 'ec') {
      return (
        verify(hash, proof.challenge, { key: publicKey, dsaEncoding: 'der' }, proof.signature) ||
        verify(hash, proof.challenge, { key: publicKey, dsaEncoding: 'ieee-p1363' }, proof.signature)
      );
    }
    return verify(hash, proof.challenge, publicKey, proof.signature);
  } catch {
    return false;
  }
}
