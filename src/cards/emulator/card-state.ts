// The persistent memory of a virtual PIV card: what a real card keeps in its EEPROM. Saved as JSON so a
// card survives restarts. Private keys live here (in the form the card's crypto provider made) because
// this *is* the card's storage; no APDU ever reads them back. Browser-safe: the wallet keeps the same
// state in IndexedDB (file-storage.ts is the Node store).
import { randomInt, toHex } from '../bytes.js';
import type { ManagementKeyAlgorithm } from '../piv/constants.js';
import { ALGORITHM, DEFAULT_MANAGEMENT_KEY, DEFAULT_PIN, DEFAULT_PUK } from '../piv/constants.js';

export interface CardKey {
  algorithm: number;
  /** The crypto provider's stored form (Node: PKCS#8 DER in base64; WebCrypto: sealed under the wallet's key). */
  privateKey: string;
  origin: 'generated' | 'imported';
  pinPolicy: number;
  touchPolicy: number;
}

export interface Counter {
  total: number;
  remaining: number;
}

export interface CardState {
  format: 'tessera-virtual-piv/1';
  serial: number;
  version: [number, number, number];
  /** PIN and PUK as the 8 bytes the card compares (ASCII padded with FF), hex. */
  pin: string;
  puk: string;
  pinCounter: Counter;
  pukCounter: Counter;
  managementKey: { algorithm: ManagementKeyAlgorithm; key: string; touchPolicy: number };
  /** Data objects by tag (hex), each the value inside tag 53, base64. */
  objects: Record<string, string>;
  /** Keys by slot (hex). */
  keys: Record<string, CardKey>;
  /** Card Production Life Cycle data (GlobalPlatform, tag 9F7F), 42 bytes hex. */
  cplc: string;
}

/** Pads a PIN/PUK to the 8-byte reference data format (SP 800-73-4 Part 2 §2.4.3: pad with FF). */
export function padPin(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  if (bytes.length > 8) throw new RangeError('PIN/PUK longer than 8 bytes');
  const out = new Uint8Array(8).fill(0xff);
  out.set(bytes, 0);
  return out;
}

const hex = toHex;

function makeCplc(serial: number): string {
  // 42 bytes as GlobalPlatform Card Spec 2.3 Table H-1 lays them out: IC fabricator, IC type, OS
  // id/date/level, fabrication date, IC serial, batch, module/embedding/personalization data. The
  // IC serial number field (bytes 15..18) carries our serial so tools that read only CPLC still see it.
  const b = new Uint8Array(42);
  const v = new DataView(b.buffer);
  v.setUint16(0, 0x4090); // IC fabricator
  v.setUint16(2, 0x7a00); // IC type
  v.setUint16(4, 0x5445); // OS id "TE"
  v.setUint16(6, 0x6324); // OS release date (YDDD)
  v.setUint16(8, 0x0543); // OS release level
  v.setUint16(10, 0x6324); // IC fabrication date
  v.setUint32(12, serial >>> 0); // IC serial number
  v.setUint16(16, 0x0001); // IC batch identifier
  return toHex(b);
}

export function newCardState(opts: { serial?: number; version?: [number, number, number] } = {}): CardState {
  const serial = opts.serial ?? randomInt(10_000_000, 99_999_999);
  return {
    format: 'tessera-virtual-piv/1',
    serial,
    version: opts.version ?? [5, 4, 3],
    pin: hex(padPin(DEFAULT_PIN)),
    puk: hex(padPin(DEFAULT_PUK)),
    pinCounter: { total: 3, remaining: 3 },
    pukCounter: { total: 3, remaining: 3 },
    managementKey: { algorithm: ALGORITHM.TDEA_3KEY, key: hex(DEFAULT_MANAGEMENT_KEY), touchPolicy: 1 },
    objects: {},
    keys: {},
    cplc: makeCplc(serial),
  };
}

/** Where a card keeps its state between commands; the card answers only once the save is done. */
export interface CardStorage {
  save(state: CardState): void | Promise<void>;
}

export class MemoryCardStorage implements CardStorage {
  saved: CardState | undefined;
  save(state: CardState): void {
    this.saved = structuredClone(state);
  }
}

export function parseCardState(text: string, source = 'card state'): CardState {
  const s = JSON.parse(text) as Partial<CardState>;
  if (s.format !== 'tessera-virtual-piv/1' || typeof s.serial !== 'number' || !s.managementKey) {
    throw new Error(`${source} is not a Tessera virtual PIV card file`);
  }
  return s as CardState;
}
