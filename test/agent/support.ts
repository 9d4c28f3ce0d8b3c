// Helpers for the agent tests: pair through the real HTTP API, wait for conditions, and a reader set
// whose card exchanges can be held mid-flight (to pull the network or the card at that moment).
import type {
  CardConnection,
  ReaderEvent,
  ReaderInfo,
  ReaderSet,
  TransmitOptions,
} from '../../src/cards/transport/types.js';
import { pairWithCode, type AgentIdentity } from '../../src/agent/identity.js';
import { ApiClient } from '../support/server.js';

export async function signIn(url: string, username: string, password: string): Promise<ApiClient> {
  const api = new ApiClient(url);
  const res = await api.login(username, password);
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`);
  return api;
}

export async function newCode(api: ApiClient): Promise<string> {
  const r = await api.json<{ code: string; expiresAt: string }>('POST', '/api/agents/pairing-codes', {});
  if (r.status !== 201) throw new Error(`pairing code: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

export async function pairAgent(api: ApiClient, name = 'Test agent'): Promise<AgentIdentity> {
  return pairWithCode(api.base, await newCode(api), { name, hostname: 'test-host' });
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Wraps a real ReaderSet; while `hold()` is on, APDUs reach the card only when released, so a test
 * can act while an exchange is in flight. `waiting` resolves when an APDU is being held.
 */
export class HoldingReaderSet implements ReaderSet {
  private held: Array<() => void> = [];
  private holding = false;
  private onHeld: (() => void) | undefined;

  constructor(readonly inner: ReaderSet) {}

  hold(): Promise<void> {
    this.holding = true;
    return new Promise((r) => (this.onHeld = r));
  }

  release(): void {
    this.holding = false;
    for (const go of this.held.splice(0)) go();
  }

  list(): Promise<ReaderInfo[]> {
    return this.inner.list();
  }
  watch(listener: (e: ReaderEvent) => void): () => void {
    return this.inner.watch(listener);
  }
  async connect(reader: string): Promise<CardConnection> {
    const conn = await this.inner.connect(reader);
    return {
      reader: conn.reader,
      atr: conn.atr,
      transmit: async (apdu: Uint8Array, opts?: TransmitOptions) => {
        if (this.holding) {
          await new Promise<void>((go) => {
            this.held.push(go);
            this.onHeld?.();
          });
        }
        return conn.transmit(apdu, opts);
      },
      close: () => conn.close?.() ?? Promise.resolve(),
    };
  }
  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}
