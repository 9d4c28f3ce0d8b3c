// The readers one connected agent reports, as this server keeps them: its full snapshots (a
// "readers" frame), its single changes (reader-event) and the serial of a present card
// (card-serial), turned into the reader and card events the hub's watchers hear. Watchers see the
// same events whether a reader came in a snapshot or in an event.
import type { ReaderState, WireReaderEvent } from '../cards/transport/agent-protocol.js';
import type { ReaderEvent } from '../cards/transport/types.js';

interface LiveReader {
  cardPresent: boolean;
  atr: string | null;
  /** The present card's serial as the agent read it (card-serial); null: not known. */
  serial: string | null;
}

/** A reader as its agent reports it now (the ATR in hex). */
export type ReportedReader = { name: string } & LiveReader;

/** Where an agent's reader changes go. */
export interface ReaderSink {
  /** A card left `reader`: the card connections relayed to it end (before the event is emitted). */
  cardRemoved(reader: string): void;
  emit(e: ReaderEvent): void;
}

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

export class AgentReaders {
  #readers = new Map<string, LiveReader>();

  constructor(private readonly sink: ReaderSink) {}

  get(reader: string): Readonly<LiveReader> | undefined {
    return this.#readers.get(reader);
  }

  /** The readers now, in the order the agent reported them. */
  list(): ReportedReader[] {
    return [...this.#readers].map(([name, r]) => ({ name, ...r }));
  }

  /** A "readers" frame: the agent's full list replaces the one kept, its differences emitted. */
  replace(readers: readonly ReaderState[]): void {
    const next = new Map<string, LiveReader>(
      readers.map((r) => [
        r.name,
        // A present card's serial comes after, in a card-serial frame.
        { cardPresent: r.cardPresent, atr: r.cardPresent ? r.atr : null, serial: null },
      ]),
    );
    // Emit what changed, so watchers see the same events whether a reader came or went live.
    for (const [name, old] of this.#readers) {
      const now = next.get(name);
      if (!now) {
        if (old.cardPresent) this.#cardGone(name);
        this.sink.emit({ type: 'reader-removed', reader: name });
      } else if (old.cardPresent && (!now.cardPresent || now.atr !== old.atr)) this.#cardGone(name);
    }
    for (const [name, now] of next) {
      const old = this.#readers.get(name);
      if (!old) this.sink.emit({ type: 'reader-added', reader: name });
      if (now.cardPresent && (!old?.cardPresent || old.atr !== now.atr))
        this.sink.emit({ type: 'card-inserted', reader: name, atr: fromHex(now.atr ?? '') });
    }
    this.#readers = next;
  }

  /** A "reader-event" frame. */
  apply(e: WireReaderEvent): void {
    if (e.type === 'reader-added') {
      if (!this.#readers.has(e.reader))
        this.#readers.set(e.reader, { cardPresent: false, atr: null, serial: null });
      this.sink.emit(e);
    } else if (e.type === 'reader-removed') {
      if (this.#readers.get(e.reader)?.cardPresent) this.#cardGone(e.reader);
      this.#readers.delete(e.reader);
      this.sink.emit(e);
    } else if (e.type === 'card-inserted') {
      this.#readers.set(e.reader, { cardPresent: true, atr: e.atr, serial: null });
      this.sink.emit({ type: 'card-inserted', reader: e.reader, atr: fromHex(e.atr) });
    } else {
      this.#cardGone(e.reader);
    }
  }

  /** A "card-serial" frame; false when nothing changed. */
  setSerial(reader: string, serial: string): boolean {
    const r = this.#readers.get(reader);
    // Frames come in order: a card reported gone since is not the one the serial is of.
    if (!r?.cardPresent) return false;
    r.serial = serial;
    return true;
  }

  #cardGone(reader: string): void {
    const r = this.#readers.get(reader);
    if (r) this.#readers.set(reader, { cardPresent: false, atr: null, serial: null });
    this.sink.cardRemoved(reader);
    this.sink.emit({ type: 'card-removed', reader });
  }
}
