// The keys and secrets a personalized PIV card gets from Tessera. Each card's management key is
// derived from the master key and the card's serial, so it is never stored and never leaves the
// server except inside the APDUs that use it (DESIGN.md "Cards").
import { randomInt } from 'node:crypto';
import { ALGORITHM, type AsymmetricAlgorithm, type ManagementKeyAlgorithm } from '../cards/piv/constants.js';
import type { Version } from '../cards/piv/piv-session.js';
import type { KeyAlgorithm } from '../store/policies-repo.js';
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

export const PIV_KEY_ALGORITHM: Record<KeyAlgorithm, AsymmetricAlgorithm> = {
  RSA2048: ALGORITHM.RSA_2048,
  ECCP256: ALGORITHM.ECC_P256,
  ECCP384: ALGORITHM.ECC_P384,
};

export const PIV_SLOT_NUMBER: Record<string, number> = { '9a': 0x9a, '9c': 0x9c, '9d': 0x9d, '9e': 0x9e };

/** A random PUK of 8 digits (the PIV maximum), kept encrypted for unblocking the PIN later. */
export function randomPuk(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += String(randomInt(10));
  return s;
}
