// Our own PIV client runs the personalization scenario over the memory transport and over the real
// PC/SC path (pcsc-lite → pcscd → vsmartcard → the virtual card), and sees card insert and removal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardRemovedError } from '../../src/cards/errors.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { PcscReaderSet, pcscAvailable } from '../../src/cards/transport/pcsc.js';
import type { ReaderEvent } from '../../src/cards/transport/types.js';
import { type InsertedCard, VIRTUAL_READER, insertVirtualCard } from '../support/card-emulator.js';
import { memoryCard } from '../support/card-memory.js';
import { SCENARIO_MGMT_KEY, personalizationScenario } from '../support/card-scenario.js';
import { type PcscdLease, acquirePcscd, pcscdMissing } from '../support/pcscd.js';

describe('personalization scenario over the memory transport', () => {
  it('passes', async () => {
    const { session } = await memoryCard();
    const stats = await personalizationScenario(session);
    console.info('memory transport APDUs per step:', JSON.stringify(stats.apdus));
  });
});

const missing =
  pcscdMissing() ??
  (pcscAvailable() ? undefined : 'the optional pcsclite addon is not built (npm install pcsclite)');
if (missing) console.warn(`\n*** SKIPPING PC/SC transport tests: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('PIV client over pcsc-lite (pcscd + vpcd)', () => {
  let lease: PcscdLease;
  let readers: PcscReaderSet;
  let inserted: InsertedCard | undefined;
  let dir: string;

  beforeAll(async () => {
    lease = await acquirePcscd();
    dir = mkdtempSync(join(tmpdir(), 'tessera-pcsc-'));
    readers = PcscReaderSet.open();
  });

  afterAll(async () => {
    await readers?.close();
    await inserted?.remove();
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the vsmartcard readers and sees a card inserted and removed', async () => {
    const events: ReaderEvent[] = [];
    const stop = readers.watch((e) => events.push(e));
    const before = await readers.list();
    expect(before.map((r) => r.name)).toContain(VIRTUAL_READER);
    expect(before.find((r) => r.name === VIRTUAL_READER)?.cardPresent).toBe(false);
    inserted = await insertVirtualCard({ file: join(dir, 'card.json') });
    await waitFor(() => events.some((e) => e.type === 'card-inserted' && e.reader === VIRTUAL_READER));
    const info = (await readers.list()).find((r) => r.name === VIRTUAL_READER);
    expect(info?.cardPresent).toBe(true);
    expect(Buffer.from(info!.atr!)).toEqual(Buffer.from(inserted.card.atr));
    await inserted.remove();
    await waitFor(() => events.some((e) => e.type === 'card-removed' && e.reader === VIRTUAL_READER));
    stop();
    inserted = undefined;
  });

  it('runs the personalization scenario through PC/SC', async () => {
    inserted = await insertVirtualCard({ file: join(dir, 'card.json') });
    await waitFor(async () => (await readers.list()).some((r) => r.name === VIRTUAL_READER && r.cardPresent));
    const conn = await readers.connect(VIRTUAL_READER);
    try {
      const session = await PivSession.open(conn);
      const t = Date.now();
      const stats = await personalizationScenario(session);
      const total = Object.values(stats.apdus).reduce((a, b) => a + b, 0);
      console.info(`pcsc transport: ${total} APDUs in ${Date.now() - t} ms;`, JSON.stringify(stats.apdus));
      expect(inserted.card.snapshot().managementKey.algorithm).toBe(ALGORITHM.AES_192);
    } finally {
      await conn.close?.();
    }
  });

  it('fails an exchange with CardRemovedError when the card is pulled', async () => {
    const conn = await readers.connect(VIRTUAL_READER);
    const session = await PivSession.open(conn);
    await session.authenticate(SCENARIO_MGMT_KEY);
    await inserted!.remove();
    await expect(session.generateKey(SLOT.CARD_AUTH, ALGORITHM.ECC_P256)).rejects.toBeInstanceOf(
      CardRemovedError,
    );
    await conn.close?.();
    inserted = undefined;
  });

  it('connecting to an empty reader is CardRemovedError', async () => {
    await waitFor(
      async () => !(await readers.list()).some((r) => r.name === VIRTUAL_READER && r.cardPresent),
    );
    await expect(readers.connect(VIRTUAL_READER)).rejects.toBeInstanceOf(CardRemovedError);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
