// The master key: 32 random bytes from TESSERA_MASTER_KEY (base64 or hex) or ./data/master.key,
// created on first start. It encrypts secrets at rest (CA keys, PUKs, initial PINs, directory
// bind passwords) with AES-256-GCM, and it is the root from which per-card management keys are
// derived. It never leaves this module in the clear except to derive subkeys.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 1;

export class MasterKey {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error('The master key must be 32 bytes');
    this.#key = Buffer.from(key);
  }

  static generate(): MasterKey {
    return new MasterKey(randomBytes(32));
  }

  /** Parses base64 or hex text (as TESSERA_MASTER_KEY or the key file holds it). */
  static parse(text: string): MasterKey {
    const t = text.trim();
    const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
    if (bytes.length !== 32)
      throw new Error('The master key must be 32 bytes, given as 64 hex digits or base64');
    return new MasterKey(bytes);
  }

  /** Loads the key from the environment value, else the file, creating the file when absent. */
  static loadOrCreate(envValue: string | undefined, file: string): { key: MasterKey; created: boolean } {
    if (envValue) return { key: MasterKey.parse(envValue), created: false };
    if (existsSync(file)) return { key: MasterKey.parse(readFileSync(file, 'utf8')), created: false };
    const key = MasterKey.generate();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, key.#key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return { key, created: true };
  }

  /**
   * Encrypts with AES-256-GCM under a subkey bound to `purpose` (e.g. "ca-key", "puk"), so a
   * ciphertext cannot be replayed as another kind of secret. Output: version ‖ iv ‖ tag ‖ data.
   */
  encrypt(plaintext: Uint8Array | string, purpose: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.derive(`enc:${purpose}`), iv);
    cipher.setAAD(Buffer.from(purpose));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), data]);
  }

  decrypt(blob: Uint8Array, purpose: string): Buffer {
    const b = Buffer.from(blob);
    if (b.length < 29 || b[0] !== VERSION)
      throw new Error('Encrypted value is malformed or of an unknown version');
    const decipher = createDecipheriv('aes-256-gcm', this.derive(`enc:${purpose}`), b.subarray(1, 13));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(b.subarray(13, 29));
    return Buffer.concat([decipher.update(b.subarray(29)), decipher.final()]);
  }

  decryptText(blob: Uint8Array, purpose: string): string {
    return this.decrypt(blob, purpose).toString('utf8');
  }

  /** A 32-byte subkey for one purpose (HMAC-SHA256 of the label): e.g. per-card management keys. */
  derive(label: string, length = 32): Buffer {
    const out = createHmac('sha256', this.#key).update(label).digest();
    if (length <= 32) return out.subarray(0, length);
    return Buffer.concat([out, this.derive(`${label}#2`, length - 32)]);
  }
}
