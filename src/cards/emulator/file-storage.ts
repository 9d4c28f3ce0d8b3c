// A virtual card's state in a JSON file (Node only: the emulator, `tessera card emulate`, the demo
// agent). The wallet keeps the same state in IndexedDB.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CardState, type CardStorage, newCardState, parseCardState } from './card-state.js';

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
