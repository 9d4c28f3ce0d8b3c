// PIV wire constants, named as SP 800-73-4 Part 2 and Yubico's PIV extensions name them.

/** The PIV application identifier (SP 800-73-4 Part 1 §2.2): RID A000000308, PIX 00001000 0100. */
export const PIV_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00);

export const INS = {
  SELECT: 0xa4,
  GET_DATA: 0xcb,
  PUT_DATA: 0xdb,
  VERIFY: 0x20,
  CHANGE_REFERENCE_DATA: 0x24,
  RESET_RETRY_COUNTER: 0x2c,
  GENERAL_AUTHENTICATE: 0x87,
  GENERATE_ASYMMETRIC: 0x47,
  GET_RESPONSE: 0xc0,
  /** GlobalPlatform GET DATA (used for CPLC, tag 9F7F). */
  GP_GET_DATA: 0xca,
  // Yubico extensions.
  GET_METADATA: 0xf7,
  GET_SERIAL: 0xf8,
  ATTEST: 0xf9,
  SET_PIN_RETRIES: 0xfa,
  RESET: 0xfb,
  GET_VERSION: 0xfd,
  IMPORT_KEY: 0xfe,
  SET_MGMT_KEY: 0xff,
} as const;

/** Key references (SP 800-73-4 Part 1 Table 4). */
export const SLOT = {
  AUTHENTICATION: 0x9a,
  CARD_MANAGEMENT: 0x9b,
  SIGNATURE: 0x9c,
  KEY_MANAGEMENT: 0x9d,
  CARD_AUTH: 0x9e,
  /** Yubico's attestation key. */
  ATTESTATION: 0xf9,
} as const;

/** Retired key-management slots 82..95 (SP 800-73-4 Part 1 §3.3.3). */
export const RETIRED_SLOTS: readonly number[] = Array.from({ length: 20 }, (_, i) => 0x82 + i);

/** The key references a PIV client may generate, import, sign with. */
export const KEY_SLOTS: readonly number[] = [0x9a, 0x9c, 0x9d, 0x9e, ...RETIRED_SLOTS, 0xf9];

export const PIN_REF = { PIN: 0x80, PUK: 0x81 } as const;

/** Cryptographic mechanism identifiers (SP 800-78-4 Table 6-2). */
export const ALGORITHM = {
  TDEA_3KEY: 0x03,
  RSA_1024: 0x06,
  RSA_2048: 0x07,
  AES_128: 0x08,
  AES_192: 0x0a,
  AES_256: 0x0c,
  ECC_P256: 0x11,
  ECC_P384: 0x14,
} as const;

export type ManagementKeyAlgorithm =
  typeof ALGORITHM.TDEA_3KEY | typeof ALGORITHM.AES_128 | typeof ALGORITHM.AES_192 | typeof ALGORITHM.AES_256;

export type AsymmetricAlgorithm =
  | typeof ALGORITHM.RSA_1024
  | typeof ALGORITHM.RSA_2048
  | typeof ALGORITHM.ECC_P256
  | typeof ALGORITHM.ECC_P384;

export const MANAGEMENT_KEY_LENGTH: Record<ManagementKeyAlgorithm, number> = {
  0x03: 24,
  0x08: 16,
  0x0a: 24,
  0x0c: 32,
};

export function isManagementKeyAlgorithm(a: number): a is ManagementKeyAlgorithm {
  return a === 0x03 || a === 0x08 || a === 0x0a || a === 0x0c;
}

export function isAsymmetricAlgorithm(a: number): a is AsymmetricAlgorithm {
  return a === 0x06 || a === 0x07 || a === 0x11 || a === 0x14;
}

/** Data object tags (SP 800-73-4 Part 1 Table 3) and Yubico's own objects. */
export const OBJECT = {
  CAPABILITY: 0x5fc107, // Card Capability Container (CCC)
  CHUID: 0x5fc102,
  AUTHENTICATION: 0x5fc105, // X.509 certificate for 9A
  FINGERPRINTS: 0x5fc103,
  SECURITY: 0x5fc106,
  FACIAL: 0x5fc108,
  PRINTED: 0x5fc109,
  SIGNATURE: 0x5fc10a, // 9C
  KEY_MANAGEMENT: 0x5fc10b, // 9D
  CARD_AUTH: 0x5fc101, // 9E
  DISCOVERY: 0x7e,
  KEY_HISTORY: 0x5fc10c,
  IRIS: 0x5fc121,
  BITGT: 0x7f61,
  SM_SIGNER: 0x5fc122,
  PC_REF_DATA: 0x5fc123,
  ATTESTATION: 0x5fff01, // Yubico: attestation certificate for F9
  YUBICO_ADMIN: 0x5fff00, // Yubico: admin data (PIN-protected mgmt key flags)
} as const;

/** The certificate object for a key slot (SP 800-73-4 Part 1 Table 4b; retired 82..95 → 5FC10D..5FC120). */
export function certificateObjectFor(slot: number): number {
  switch (slot) {
    case 0x9a:
      return OBJECT.AUTHENTICATION;
    case 0x9c:
      return OBJECT.SIGNATURE;
    case 0x9d:
      return OBJECT.KEY_MANAGEMENT;
    case 0x9e:
      return OBJECT.CARD_AUTH;
    case 0xf9:
      return OBJECT.ATTESTATION;
    default:
      if (slot >= 0x82 && slot <= 0x95) return 0x5fc10d + (slot - 0x82);
      throw new RangeError(`slot ${slot.toString(16)} has no certificate object`);
  }
}

/** Objects whose reading needs the PIN (SP 800-73-4 Part 1 Table 2 access rules). */
export const PIN_PROTECTED_OBJECTS: ReadonlySet<number> = new Set([
  OBJECT.FINGERPRINTS,
  OBJECT.FACIAL,
  OBJECT.PRINTED,
  OBJECT.IRIS,
]);

export const TAG = {
  OBJECT_ID: 0x5c,
  OBJECT_DATA: 0x53,
  DYN_AUTH: 0x7c,
  AUTH_WITNESS: 0x80,
  AUTH_CHALLENGE: 0x81,
  AUTH_RESPONSE: 0x82,
  AUTH_EXPONENTIATION: 0x85,
  GEN_TEMPLATE: 0xac,
  GEN_ALGORITHM: 0x80,
  PIN_POLICY: 0xaa,
  TOUCH_POLICY: 0xab,
  PUBLIC_KEY: 0x7f49,
  RSA_MODULUS: 0x81,
  RSA_EXPONENT: 0x82,
  EC_POINT: 0x86,
  CERTIFICATE: 0x70,
  CERT_INFO: 0x71,
  LRC: 0xfe,
  APT: 0x61,
  CPLC: 0x9f7f,
  // GET METADATA answer (Yubico).
  MD_ALGORITHM: 0x01,
  MD_POLICY: 0x02,
  MD_ORIGIN: 0x03,
  MD_PUBLIC_KEY: 0x04,
  MD_DEFAULT: 0x05,
  MD_RETRIES: 0x06,
} as const;

/** PIN policy byte (Yubico): when the card demands the PIN for a key. */
export const PIN_POLICY = { DEFAULT: 0, NEVER: 1, ONCE: 2, ALWAYS: 3 } as const;
export const TOUCH_POLICY = { DEFAULT: 0, NEVER: 1, ALWAYS: 2, CACHED: 3 } as const;

export const DEFAULT_PIN = '123456';
export const DEFAULT_PUK = '12345678';
export const DEFAULT_MANAGEMENT_KEY = Uint8Array.of(
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
);
