// Archived key-management keys (credential profiles with archiveKey): PKCS#8 encrypted by the
// master key under the purpose `archived-key:<certificate id>`, distinct from CA keys, so one
// ciphertext cannot be opened as the other. Issuance seals, key recovery opens.
import type { MasterKey } from '../../secrets/master-key.js';

export interface KeyArchive {
  seal(certificateId: string, pkcs8: Buffer): Buffer;
  open(certificateId: string, sealed: Uint8Array): Buffer;
}

const purpose = (certificateId: string) => `archived-key:${certificateId}`;

export function masterKeyArchive(masterKey: Pick<MasterKey, 'encrypt' | 'decrypt'>): KeyArchive {
  return {
    seal: (certificateId, pkcs8) => masterKey.encrypt(pkcs8, purpose(certificateId)),
    open: (certificateId, sealed) => masterKey.decrypt(sealed, purpose(certificateId)),
  };
}
