// Puts a virtual card into the vsmartcard virtual reader of pcscd ("Virtual PCD 00 00"), so every
// PC/SC program on the machine sees it as a card in a reader. We are the card side: a TCP client of
// the vpcd driver (default 127.0.0.1:35963). Each message is a 2-byte big-endian length and a
// payload; a 1-byte payload is a control code (0 power off, 1 power on, 2 reset, 4 get ATR), any
// other payload is a command APDU to answer with a response APDU. Connected = inserted;
// disconnected = removed.
import { Socket } from 'node:net';
import { TransportError } from '../errors.js';

/** The card side of vpcd: anything that answers APDUs and has an ATR. */
export interface VpcdCard {
  readonly atr: Uint8Array;
  reset(): Uint8Array;
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

export const VPCD_DEFAULT_PORT = 35963;

const CTRL = { OFF: 0, ON: 1, RESET: 2, ATR: 4 } as const;

export interface VpcdOptions {
  host?: string;
  port?: number;
  /** Keep trying to connect (pcscd not up yet, or restarted) until stopped. */
  reconnect?: boolean;
  retryDelayMs?: number;
  /** Called with every exchanged APDU pair, for traces. */
  onApdu?: (command: Uint8Array, response: Uint8Array) => void;
  /** Called on connection changes, for the CLI's messages. */
  onState?: (state: 'inserted' | 'powered' | 'removed' | 'waiting', detail?: string) => void;
}

export class VpcdCardBridge {
  private socket: Socket | undefined;
  private stopped = false;
  private buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private poweredWaiters: Array<() => void> = [];
  private powered = false;
  readonly host: string;
  readonly port: number;

  constructor(
    readonly card: VpcdCard,
    private readonly opts: VpcdOptions = {},
  ) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? VPCD_DEFAULT_PORT;
  }

  get inserted(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && this.socket.readyState === 'open';
  }

  /** Connects (inserts the card). Resolves once connected; with `reconnect`, waits as long as it takes. */
  start(): Promise<void> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const attempt = (): void => {
        if (this.stopped) {
          reject(new TransportError('The virtual card was withdrawn before vpcd accepted it'));
          return;
        }
        const socket = new Socket();
        socket.setNoDelay(true);
        let opened = false;
        socket.once('connect', () => {
          opened = true;
          this.socket = socket;
          this.buffer = Buffer.alloc(0);
          this.powered = false;
          this.card.reset();
          this.opts.onState?.('inserted', `${this.host}:${this.port}`);
          resolve();
        });
        socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
        socket.on('error', (err) => {
          if (!opened) {
            socket.destroy();
            if (this.opts.reconnect && !this.stopped) {
              this.opts.onState?.('waiting', err.message);
              this.retryTimer = setTimeout(attempt, this.opts.retryDelayMs ?? 1000);
            } else {
              reject(
                new TransportError(
                  `Cannot reach the vpcd driver at ${this.host}:${this.port}: is pcscd running?`,
                  {
                    host: this.host,
                    port: this.port,
                  },
                  { cause: err },
                ),
              );
            }
          }
        });
        socket.on('close', () => {
          if (!opened) return;
          if (this.socket === socket) this.socket = undefined;
          if (this.stopped) return; // withdrawn on purpose: nothing to report or retry
          this.opts.onState?.('removed');
          if (this.opts.reconnect && !this.stopped) {
            this.retryTimer = setTimeout(() => {
              this.start().catch(() => undefined);
            }, this.opts.retryDelayMs ?? 1000);
          }
        });
        socket.connect(this.port, this.host);
      };
      attempt();
    });
  }

  /** Disconnects (removes the card from the virtual reader). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const s = this.socket;
    this.socket = undefined;
    await this.queue.catch(() => undefined);
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 500).unref();
      });
    }
  }

  private onData(socket: Socket, chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 2) {
      const len = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + len) break;
      const payload = Uint8Array.from(this.buffer.subarray(2, 2 + len));
      this.buffer = this.buffer.subarray(2 + len);
      // Answer strictly in order: pcscd waits for each answer before it sends the next message.
      this.queue = this.queue
        .then(() => this.handle(socket, payload))
        .catch(() => {
          // A card that cannot answer is a card pulled out: pcscd sees the reader empty.
          socket.destroy();
        });
    }
  }

  /** Resolves once pcscd has powered the card up (the reader then reports it to PC/SC programs). */
  whenPowered(timeoutMs = 10_000): Promise<void> {
    if (this.powered) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TransportError(`pcscd did not power the virtual card within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.poweredWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private markPowered(): void {
    if (this.powered) return;
    this.powered = true;
    this.opts.onState?.('powered');
    for (const w of this.poweredWaiters.splice(0)) w();
  }

  private async handle(socket: Socket, payload: Uint8Array): Promise<void> {
    if (payload.length === 1) {
      if (payload[0] !== CTRL.OFF) this.markPowered();
      switch (payload[0]) {
        case CTRL.OFF:
        case CTRL.ON:
        case CTRL.RESET:
          this.card.reset();
          return;
        case CTRL.ATR:
          this.send(socket, this.card.atr);
          return;
        default:
          return;
      }
    }
    const response = await this.card.transmit(payload);
    this.opts.onApdu?.(payload, response);
    this.send(socket, response);
  }

  private send(socket: Socket, payload: Uint8Array): void {
    if (socket.destroyed) return;
    const head = Buffer.alloc(2);
    head.writeUInt16BE(payload.length);
    socket.write(Buffer.concat([head, payload]));
  }
}
