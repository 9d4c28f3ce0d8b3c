// Races a transport's pending exchange against a timeout and an abort signal, so no transmit can
// hang forever whatever the peer does.
import { CardTimeoutError, TransportError } from '../errors.js';
import type { TransmitOptions } from './types.js';
import { DEFAULT_TRANSMIT_TIMEOUT_MS } from './types.js';

export function withDeadline<T>(
  work: Promise<T>,
  opts: TransmitOptions | undefined,
  onGiveUp?: () => void,
): Promise<T> {
  const timeoutMs = opts?.timeoutMs ?? DEFAULT_TRANSMIT_TIMEOUT_MS;
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(new TransportError('The card exchange was aborted'));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = setTimeout(() => {
      onGiveUp?.();
      finish(() => reject(new CardTimeoutError(timeoutMs)));
    }, timeoutMs);
    const onAbort = (): void => {
      onGiveUp?.();
      finish(() => reject(new TransportError('The card exchange was aborted')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
