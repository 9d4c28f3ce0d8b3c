// Real readers through pcsc-lite, via the optional native addon `pcsclite`. Machines without
// libpcsclite (or without the addon) still run everything else: `PcscReaderSet.open()` throws a
// TransportError naming what is missing, and only pcsc-addon.ts loads the addon.
import { CardRemovedError, TransportError } from '../errors.js';
import { loadPcscAddon } from './pcsc-addon.js';
import { withDeadline } from './deadline.js';
import type { CardConnection, ReaderEvent, ReaderInfo, ReaderSet, TransmitOptions } from './types.js';

// The slice of the addon's API we use (see node_modules/pcsclite/index.d.ts).
interface NativeReader {
  name: string;
  state: number;
  connected: boolean;
  SCARD_STATE_PRESENT: number;
  SCARD_STATE_CHANGED: number;
  SCARD_SHARE_SHARED: number;
  SCARD_SHARE_EXCLUSIVE: number;
  SCARD_LEAVE_CARD: number;
  SCARD_RESET_CARD: number;
  on(event: 'status', l: (s: { state: number; atr?: Buffer }) => void): void;
  on(event: 'end', l: () => void): void;
  on(event: 'error', l: (e: Error) => void): void;
  connect(opts: { share_mode?: number }, cb: (err: unknown, protocol: number) => void): void;
  disconnect(disposition: number, cb: (err: unknown) => void): void;
  transmit(data: Buffer, resLen: number, protocol: number, cb: (err: unknown, res: Buffer) => void): void;
  close(): void;
}
interface NativePcsc {
  on(event: 'reader', l: (r: NativeReader) => void): void;
  on(event: 'error', l: (e: Error) => void): void;
  close(): void;
}

interface Known {
  reader: NativeReader;
  present: boolean;
  atr: Uint8Array | undefined;
  /** Rejects exchanges in flight when the card leaves. */
  removed: Array<(e: Error) => void>;
}

const MAX_RESPONSE = 65538 + 2;
/** How long a failed exchange waits for the reader to report the card gone (then it is "removed"). */
const REMOVAL_GRACE_MS = 500;

export interface PcscOptions {
  /** Connect exclusively (default) so no other program interleaves APDUs with ours. */
  exclusive?: boolean;
  /** How long list() waits for pcsc-lite's first report of readers. */
  settleMs?: number;
}

const loadAddon = (): (() => NativePcsc) => loadPcscAddon() as () => NativePcsc;

/** True when the pcsclite addon can be loaded on this machine. */
export function pcscAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}

export class PcscReaderSet implements ReaderSet {
  private readonly known = new Map<string, Known>();
  private readonly listeners = new Set<(e: ReaderEvent) => void>();
  private lastError: Error | undefined;
  private readonly startedAt = Date.now();
  private closed = false;

  private constructor(
    private readonly pcsc: NativePcsc,
    private readonly opts: PcscOptions,
  ) {
    pcsc.on('error', (e) => {
      this.lastError = e;
    });
    pcsc.on('reader', (r) => this.track(r));
  }

  /** Starts watching pcsc-lite. Throws TransportError when the addon is missing. */
  static open(opts: PcscOptions = {}): PcscReaderSet {
    const create = loadAddon();
    let pcsc: NativePcsc;
    try {
      pcsc = create();
    } catch (e) {
      // SCARD_E_NO_SERVICE (PC/SC Lite's pcsclite.h): the library is there, its service is not.
      const noService = /0x8010001d/i.test((e as Error).message);
      throw new TransportError(
        noService
          ? `The PC/SC service is not running (${(e as Error).message}): start pcscd (systemctl start pcscd.socket, or run pcscd)`
          : `PC/SC could not start: ${(e as Error).message}`,
        undefined,
        { cause: e },
      );
    }
    return new PcscReaderSet(pcsc, opts);
  }

  private emit(e: ReaderEvent): void {
    for (const l of this.listeners) l(e);
  }

  private track(r: NativeReader): void {
    const k: Known = { reader: r, present: false, atr: undefined, removed: [] };
    this.known.set(r.name, k);
    this.emit({ type: 'reader-added', reader: r.name });
    r.on('error', (e) => {
      this.lastError = e;
    });
    r.on('status', (s) => {
      const present = (s.state & r.SCARD_STATE_PRESENT) !== 0;
      if (present && (!k.present || (s.atr && k.atr && !Buffer.from(s.atr).equals(Buffer.from(k.atr))))) {
        k.present = true;
        k.atr = s.atr ? Uint8Array.from(s.atr) : undefined;
        this.emit({ type: 'card-inserted', reader: r.name, atr: k.atr ?? new Uint8Array(0) });
      } else if (!present && k.present) {
        k.present = false;
        k.atr = undefined;
        for (const reject of k.removed.splice(0)) reject(new CardRemovedError(r.name));
        if (r.connected) r.disconnect(r.SCARD_LEAVE_CARD, () => undefined);
        this.emit({ type: 'card-removed', reader: r.name });
      }
    });
    r.on('end', () => {
      for (const reject of k.removed.splice(0)) reject(new CardRemovedError(r.name));
      this.known.delete(r.name);
      this.emit({ type: 'reader-removed', reader: r.name });
    });
  }

  /** Waits until pcsc-lite has reported the readers present at start-up. */
  private async settle(): Promise<void> {
    const settleMs = this.opts.settleMs ?? 600;
    const wait = settleMs - (Date.now() - this.startedAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  async list(): Promise<ReaderInfo[]> {
    await this.settle();
    if (this.known.size === 0 && this.lastError) {
      throw new TransportError(`pcsc-lite reports: ${this.lastError.message}`, undefined, {
        cause: this.lastError,
      });
    }
    return [...this.known.values()].map((k) =>
      k.present && k.atr
        ? { name: k.reader.name, cardPresent: true, atr: k.atr }
        : { name: k.reader.name, cardPresent: k.present },
    );
  }

  watch(listener: (event: ReaderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async connect(name: string): Promise<CardConnection> {
    await this.settle();
    const k = this.known.get(name);
    if (!k) throw new TransportError(`No reader named "${name}"`, { reader: name });
    if (!k.present) throw new CardRemovedError(name);
    const r = k.reader;
    // The addon keeps one handle per reader: a second connection would silently share the first.
    if (r.connected)
      throw new TransportError(`Reader "${name}" is already connected in this process`, { reader: name });
    const protocol = await new Promise<number>((resolve, reject) => {
      r.connect(
        { share_mode: this.opts.exclusive === false ? r.SCARD_SHARE_SHARED : r.SCARD_SHARE_EXCLUSIVE },
        (err, p) => (err ? reject(mapError(err, name)) : resolve(p)),
      );
    });
    let closed = false;
    return {
      reader: name,
      atr: k.atr,
      transmit: (apdu: Uint8Array, opts?: TransmitOptions): Promise<Uint8Array> => {
        if (closed) return Promise.reject(new TransportError('The connection is closed', { reader: name }));
        if (!k.present) return Promise.reject(new CardRemovedError(name));
        let rejectRemoved!: (e: Error) => void;
        const work = new Promise<Uint8Array>((resolve, reject) => {
          rejectRemoved = reject;
          k.removed.push(reject);
          r.transmit(Buffer.from(apdu), MAX_RESPONSE, protocol, (err, res) => {
            if (!err) return resolve(Uint8Array.from(res));
            const mapped = mapError(err, name);
            if (mapped instanceof CardRemovedError || !k.present) return reject(new CardRemovedError(name));
            // A card pulled mid-exchange may first surface as a failed transaction or a
            // communication error, with the reader's status change a moment behind: give that
            // change the chance to reject this exchange as "removed" (see k.removed) first.
            setTimeout(() => reject(mapped), REMOVAL_GRACE_MS);
          });
        });
        const cleanup = (): void => {
          const i = k.removed.indexOf(rejectRemoved);
          if (i >= 0) k.removed.splice(i, 1);
        };
        return withDeadline(work, opts).finally(cleanup);
      },
      close: () =>
        new Promise<void>((resolve) => {
          closed = true;
          if (!r.connected) return resolve();
          r.disconnect(r.SCARD_LEAVE_CARD, () => resolve());
        }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const k of this.known.values()) {
      if (k.reader.connected)
        await new Promise<void>((r) => k.reader.disconnect(k.reader.SCARD_LEAVE_CARD, () => r()));
      k.reader.close();
    }
    this.pcsc.close();
  }
}

function mapError(err: unknown, reader: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  // pcsc-lite codes: SCARD_W_REMOVED_CARD 0x80100069, SCARD_E_NO_SMARTCARD 0x8010000C.
  if (/0x80100069|0x8010000C|removed/i.test(message)) return new CardRemovedError(reader);
  return new TransportError(`PC/SC error on reader "${reader}": ${message}`, { reader });
}
