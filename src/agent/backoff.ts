// How long an agent waits before it tries the server again: doubled after each failed attempt up to
// a cap, with jitter, so a server restart is not met by every agent in the same millisecond. Shared
// by the ordinary agent (agent-client.ts) and `--wallet` (wallet-bridge.ts).

export interface BackoffOptions {
  /** The first delay (default 500 ms). */
  initialMs?: number;
  /** The cap (default 15 s). */
  maxMs?: number;
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = {},
    /** A number in [0, 1): the jitter's source (tests give a fixed one). */
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, in ms (±20 % around the doubled delay). */
  next(): number {
    const initial = this.opts.initialMs ?? 500;
    const max = this.opts.maxMs ?? 15_000;
    const d = Math.min(max, initial * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(d * (0.8 + this.random() * 0.4));
  }

  /** Connected again: the next failure starts from the first delay. */
  reset(): void {
    this.attempt = 0;
  }
}
