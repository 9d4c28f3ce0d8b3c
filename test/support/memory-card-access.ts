// CardAccess over in-process virtual readers: issuance's use-case tests drive real APDUs into
// emulated cards without an agent in between (the agent relay has its own tests).
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import type { CardConnection } from '../../src/cards/transport/types.js';
import type { CardAccess, ConnectedReader } from '../../src/services/card-access.js';

export const TEST_AGENT_ID = '11111111-1111-4111-8111-111111111111';

export class MemoryCardAccess implements CardAccess {
  readonly readers = new MemoryReaderSet();

  /**
   * Connections run a step's commands in one exchange (transmitBatch), as an agent that announced
   * apdu-batch does: in order, stopping after the first answer that is not 9000. Off: one by one,
   * as over a local reader.
   */
  batching = false;

  /** Delay per APDU, like a real reader (vpcd costs ~44 ms): lets tests watch progress unfold. */
  constructor(private readonly latencyMs = 0) {}

  /** A reader holding a new blank card with this serial. */
  addCard(reader: string, serial: number): VirtualPivCard {
    this.readers.addReader(reader);
    const card = new VirtualPivCard(newCardState({ serial }));
    this.readers.insert(reader, card);
    return card;
  }

  async listReaders(): Promise<ConnectedReader[]> {
    return (await this.readers.list()).map((r) => ({
      agentId: TEST_AGENT_ID,
      agentName: 'test workstation',
      reader: r.name,
      cardPresent: r.cardPresent,
      atr: r.atr ? Buffer.from(r.atr).toString('hex') : null,
    }));
  }

  async connect(_owner: string, _agentId: string, reader: string): Promise<CardConnection> {
    const conn = await this.connectOne(reader);
    if (!this.batching) return conn;
    return {
      ...conn,
      async transmitBatch(apdus, opts) {
        const out: Uint8Array[] = [];
        for (const apdu of apdus) {
          const r = await conn.transmit(apdu, opts);
          out.push(r);
          if (r.length < 2 || r[r.length - 2] !== 0x90 || r[r.length - 1] !== 0) break;
        }
        return out;
      },
    };
  }

  private async connectOne(reader: string): Promise<CardConnection> {
    const conn = await this.readers.connect(reader);
    if (!this.latencyMs) return conn;
    const delay = this.latencyMs;
    return {
      ...conn,
      reader: conn.reader,
      atr: conn.atr,
      async transmit(apdu: Uint8Array, opts?: Parameters<typeof conn.transmit>[1]) {
        await new Promise((r) => setTimeout(r, delay));
        return conn.transmit(apdu, opts);
      },
      close: conn.close?.bind(conn),
    };
  }

  watch(_owner: string, listener: Parameters<CardAccess['watch']>[1]) {
    return this.readers.watch((e) => listener({ agentId: TEST_AGENT_ID, ...e }));
  }
}
