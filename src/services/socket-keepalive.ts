// A WebSocket peer that vanished (a workstation switched off, its network gone) sends no FIN: its
// socket stays open until TCP gives up, minutes later, and what the session holds (a phone's card
// connection, a pairing followed) stays taken meanwhile. The server pings the socket every period;
// one that answered nothing — no pong, no frame — for HEARTBEAT_MISSES periods is cut off, as the
// agent sockets are (agent-hub.ts), and its 'close' releases what it held.
import { HEARTBEAT_MISSES } from '../cards/transport/agent-protocol.js';

/** The slice of a `ws` WebSocket this needs. */
export interface PingableSocket {
  readonly readyState: number;
  ping(): void;
  terminate(): void;
  on(event: 'pong' | 'message', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

const OPEN = 1;

/**
 * Pings `socket` every `periodMs` until it closes; cuts it off (terminate) when it has been silent
 * for HEARTBEAT_MISSES periods, after calling `onSilent` (a log line).
 */
export function keepAlive(
  socket: PingableSocket,
  periodMs: number,
  onSilent: () => void = () => undefined,
): void {
  let heard = Date.now();
  const alive = () => (heard = Date.now());
  socket.on('pong', alive);
  socket.on('message', alive);
  const timer = setInterval(() => {
    if (socket.readyState !== OPEN) return;
    if (Date.now() - heard > HEARTBEAT_MISSES * periodMs) {
      clearInterval(timer);
      onSilent();
      socket.terminate();
      return;
    }
    socket.ping();
  }, periodMs);
  timer.unref();
  socket.on('close', () => clearInterval(timer));
}
