// The keys and secrets a personalized PIV card gets from Tessera. Each card's management key is
// derived from the master key and the card's serial, so it is never stored and never leaves the
// server except inside the APDUs that use it (DESIGN.md "Cards").
import { randomInt } from 'node:crypto';
import {
  ALGORITHM,
  SLOT,
  type AsymmetricAlgorithm,
  type ManagementKeyAlgorithm,
} from '../cards/piv/constants.js';
import type { Version } from '../cards/piv/piv-session.js';
import type { PivSlot } from '../domain/credential-profile.js';
import type { CardKeyAlgorithm } from '../domain/key-algorithm.js';
import type { MasterKey } from '../secrets/master-key.js';

/** AES-192 where the card supports AES management keys (YubiKey 5.4+), 3DES otherwise. */
export function managementKeyFor(
  masterKey: MasterKey,
  serial: string,
  version: Version | undefined,
): { key: Uint8Array; algorithm: ManagementKeyAlgorithm } {
  const aes = version !== undefined && (version[0] > 5 || (version[0] === 5 && version[1] >= 4));
  return {
    key: Uint8Array.from(masterKey.derive(`piv-management-key:${serial}`, 24)),
    algorithm: aes ? ALGORITHM.AES_192 : ALGORITHM.TDEA_3KEY,
  };
}

/** What a card is asked to generate for a policy's key algorithm (SP 800-78-4 Table 6-2). */
export const PIV_KEY_ALGORITHM: Record<CardKeyAlgorithm, AsymmetricAlgorithm> = {
  RSA2048: ALGORITHM.RSA_2048,
  ECCP256: ALGORITHM.ECC_P256,
  ECCP384: ALGORITHM.ECC_P384,
};

/** The key reference of each slot a policy names (SP 800-73-4 Part 1 Table 4). */
export const PIV_SLOT_NUMBER: Record<PivSlot, number> = {
  '9a': SLOT.AUTHENTICATION,
  '9c': SLOT.SIGNATURE,
  '9d': SLOT.KEY_MANAGEMENT,
  '9e': SLOT.CARD_AUTH,
};

/** A random PUK of 8 digits (the PIV maximum), kept encrypted for unblocking the PIN later. */
export function randomPuk(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += String(randomInt(10));
  return s;
}
