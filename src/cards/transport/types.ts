// What every transport offers: a connection that exchanges raw APDUs, and a set of readers that can
// be listed, watched and connected to. The PIV session only ever sees a CardConnection, so it runs
// unchanged over the in-process emulator, pcsc-lite, vpcd and the agent relay.

export interface TransmitOptions {
  /** Give up after this many milliseconds with CardTimeoutError (the transport's default when absent). */
  timeoutMs?: number;
  /** Abort the exchange (e.g. the operator cancelled the job). */
  signal?: AbortSignal;
  /**
   * On connect: who uses the card, when it is not the server's own work — a workstation relaying
   * its applications' commands to a phone's wallet, which then asks the person before each signature.
   */
  use?: { kind: 'workstation'; by: string };
}

export interface CardConnection {
  /** The reader the card sits in, for messages and traces. */
  readonly reader?: string;
  /** The card's Answer To Reset. */
  readonly atr?: Uint8Array;
  /** Sends one command APDU and returns the whole response APDU, SW1SW2 included. */
  transmit(apdu: Uint8Array, opts?: TransmitOptions): Promise<Uint8Array>;
  /**
   * Where the transport can (an agent relay whose agent runs batches): sends the commands in one
   * exchange, the card running them in order and stopping after the first whose status is not
   * 9000. Returns the responses so far, that one's included. `opts.timeoutMs` bounds each command.
   */
  transmitBatch?(apdus: readonly Uint8Array[], opts?: TransmitOptions): Promise<Uint8Array[]>;
  close?(): Promise<void>;
}

export interface ReaderInfo {
  name: string;
  cardPresent: boolean;
  atr?: Uint8Array;
}

export type ReaderEvent =
  | { type: 'reader-added'; reader: string }
  | { type: 'reader-removed'; reader: string }
  | { type: 'card-inserted'; reader: string; atr: Uint8Array }
  | { type: 'card-removed'; reader: string };

export interface ReaderSet {
  list(): Promise<ReaderInfo[]>;
  /** Calls `listener` on every reader/card change from now on; returns the unsubscribe function. */
  watch(listener: (event: ReaderEvent) => void): () => void;
  /** Connects to the card in `reader` (exclusive where the platform allows it). */
  connect(reader: string): Promise<CardConnection>;
  close(): Promise<void>;
}

export const DEFAULT_TRANSMIT_TIMEOUT_MS = 30_000;
