// What a frame an agent socket receives is: the agent protocol's (validated), a wallet's own
// ("wallet-…": its person's answers on the phone, docs/mobile.md — parsed but unchecked here: its
// receiver validates it), or refused.
import { parseAgentMessage, type AgentMessage } from '../cards/transport/agent-protocol.js';

export type WalletFrame = { type: string } & Record<string, unknown>;

export type IncomingFrame =
  | { kind: 'agent'; message: AgentMessage }
  | { kind: 'wallet'; frame: WalletFrame }
  | { kind: 'refused'; reason: string };

/** `walletFrames`: the socket is a wallet's and its own frames are taken. */
export function readFrame(
  data: Buffer | ArrayBuffer | Buffer[],
  isBinary: boolean,
  walletFrames: boolean,
): IncomingFrame {
  if (isBinary) return { kind: 'refused', reason: 'binary frames are not part of the agent protocol' };
  const text = Buffer.isBuffer(data)
    ? data.toString('utf8')
    : Buffer.from(data as ArrayBuffer).toString('utf8');
  if (walletFrames && text.startsWith('{')) {
    const own = walletFrame(text);
    if (own) return { kind: 'wallet', frame: own };
  }
  try {
    return { kind: 'agent', message: parseAgentMessage(text) };
  } catch (e) {
    return { kind: 'refused', reason: (e as Error).message };
  }
}

/** The readers a frame reports on (a wallet may name only its own one). */
export function readerNames(m: AgentMessage): string[] {
  return m.type === 'readers'
    ? m.readers.map((r) => r.name)
    : m.type === 'reader-event'
      ? [m.event.reader]
      : m.type === 'card-serial'
        ? [m.reader]
        : [];
}

/** A wallet's own frame ({"type":"wallet-…"}), or null: anything else is the agent protocol's. */
function walletFrame(text: string): WalletFrame | null {
  if (text.length > 4096) return null;
  try {
    const m = JSON.parse(text) as unknown;
    if (m && typeof m === 'object' && !Array.isArray(m)) {
      const t = (m as { type?: unknown }).type;
      if (typeof t === 'string' && t.startsWith('wallet-')) return m as WalletFrame;
    }
  } catch {
    // not JSON: the agent protocol's parser says so
  }
  return null;
}
