// The in-process transport: virtual readers that hold emulated cards. Code creates readers, inserts
// and removes VirtualPivCards, and connects to them through the same ReaderSet/CardConnection
// interfaces as real readers. Removing a card fails any exchange in flight with CardRemovedError.
import { CardRemovedError, TransportError } from '../errors.js';
import type { PivCardApplication as VirtualPivCard } from '../emulator/piv-card-application.js';
import { withDeadline } from './deadline.js';
import type { CardConnection, ReaderEvent, ReaderInfo, ReaderSet, TransmitOptions } from './types.js';

interface Slot {
  card: VirtualPivCard | undefined;
  /** Bumped on every insert/remove so connections to an earlier card go stale. */
  generation: number;
  removal: { promise: Promise<never>; reject: (e: Error) => void } | undefined;
}

function removalSignal(): Slot['removal'] {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, rej) => {
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, reject };
}

export class MemoryReaderSet implements ReaderSet {
  private readonly readers = new Map<string, Slot>();
  private readonly listeners = new Set<(e: ReaderEvent) => void>();

  private emit(e: ReaderEvent): void {
    for (const l of this.listeners) l(e);
  }

  addReader(name: string): void {
    if (this.readers.has(name)) throw new TransportError(`Reader "${name}" already exists`);
    this.readers.set(name, { card: undefined, generation: 0, removal: undefined });
    this.emit({ type: 'reader-added', reader: name });
  }

  removeReader(name: string): void {
    if (this.readers.get(name)?.card) this.remove(name);
    if (this.readers.delete(name)) this.emit({ type: 'reader-removed', reader: name });
  }

  private slot(name: string): Slot {
    const s = this.readers.get(name);
    if (!s) throw new TransportError(`No reader named "${name}"`, { reader: name });
    return s;
  }

  /** Puts a card into a reader (powering it up). */
  insert(reader: string, card: VirtualPivCard): void {
    const s = this.slot(reader);
    if (s.card) throw new TransportError(`Reader "${reader}" already holds a card`, { reader });
    s.card = card;
    s.generation += 1;
    s.removal = removalSignal();
    card.reset();
    this.emit({ type: 'card-inserted', reader, atr: card.atr });
  }

  /** Takes the card out of a reader; returns it. */
  remove(reader: string): VirtualPivCard | undefined {
    const s = this.slot(reader);
    const card = s.card;
    if (!card) return undefined;
    s.card = undefined;
    s.generation += 1;
    s.removal?.reject(new CardRemovedError(reader));
    s.removal = undefined;
    this.emit({ type: 'card-removed', reader });
    return card;
  }

  cardIn(reader: string): VirtualPivCard | undefined {
    return this.readers.get(reader)?.card;
  }

  async list(): Promise<ReaderInfo[]> {
    return [...this.readers].map(([name, s]) =>
      s.card ? { name, cardPresent: true, atr: s.card.atr } : { name, cardPresent: false },
    );
  }

  watch(listener: (event: ReaderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async connect(reader: string): Promise<CardConnection> {
    const s = this.slot(reader);
    const card = s.card;
    if (!card) throw new CardRemovedError(reader);
    const generation = s.generation;
    let closed = false;
    return {
      reader,
      atr: card.atr,
      transmit: (apdu: Uint8Array, opts?: TransmitOptions): Promise<Uint8Array> => {
        if (closed) return Promise.reject(new TransportError('The connection is closed', { reader }));
        if (s.generation !== generation || !s.card || !s.removal) {
          return Promise.reject(new CardRemovedError(reader));
        }
        return withDeadline(Promise.race([card.transmit(apdu), s.removal.promise]), opts);
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
