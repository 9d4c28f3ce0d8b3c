// The persistent memory of a virtual PIV card: what a real card keeps in its EEPROM. Saved as JSON so a
// card survives restarts. Private keys live here because this file *is* the card's storage; no APDU
// ever reads them back.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ManagementKeyAlgorithm } from '../piv/constants.js';
import { ALGORITHM, DEFAULT_MANAGEMENT_KEY, DEFAULT_PIN, DEFAULT_PUK } from '../piv/constants.js';

export interface CardKey {
  algorithm: number;
  /** PKCS#8 DER, base64. */
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
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (bytes.length > 8) throw new RangeError('PIN/PUK longer than 8 bytes');
  const out = new Uint8Array(8).fill(0xff);
  out.set(bytes, 0);
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function makeCplc(serial: number): string {
  // 42 bytes as GlobalPlatform Card Spec 2.3 Table H-1 lays them out: IC fabricator, IC type, OS
  // id/date/level, fabrication date, IC serial, batch, module/embedding/personalization data. The
  // IC serial number field (bytes 15..18) carries our serial so tools that read only CPLC still see it.
  const b = Buffer.alloc(42);
  b.writeUInt16BE(0x4090, 0); // IC fabricator
  b.writeUInt16BE(0x7a00, 2); // IC type
  b.writeUInt16BE(0x5445, 4); // OS id "TE"
  b.writeUInt16BE(0x6324, 6); // OS release date (YDDD)
  b.writeUInt16BE(0x0543, 8); // OS release level
  b.writeUInt16BE(0x6324, 10); // IC fabrication date
  b.writeUInt32BE(serial >>> 0, 12); // IC serial number
  b.writeUInt16BE(0x0001, 16); // IC batch identifier
  return b.toString('hex');
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

/** Where a card keeps its state between commands. */
export interface CardStorage {
  save(state: CardState): void;
}

export class MemoryCardStorage implements CardStorage {
  saved: CardState | undefined;
  save(state: CardState): void {
    this.saved = structuredClone(state);
  }
}

/** A JSON file; written to a temporary name and renamed, so a crash never leaves half a card. */
export class FileCardStorage implements CardStorage {
  constructor(readonly path: string) {}

  save(state: CardState): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  /** Loads the card in the file, or creates (and saves) a new blank card when there is none. */
  loadOrCreate(opts: { serial?: number } = {}): { state: CardState; created: boolean } {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const state = newCardState(opts);
      this.save(state);
      return { state, created: true };
    }
    return { state: parseCardState(text, this.path), created: false };
  }
}

export function parseCardState(text: string, source = 'card state'): CardState {
  const s = JSON.parse(text) as Partial<CardState>;
  if (s.format !== 'tessera-virtual-piv/1' || typeof s.serial !== 'number' || !s.managementKey) {
    throw new Error(`${source} is not a Tessera virtual PIV card file`);
  }
  return s as CardState;
}
