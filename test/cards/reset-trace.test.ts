import { describe, expect, it } from 'vitest';
import { ALGORITHM, OBJECT, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { resetToTransport } from '../../src/cards/piv/reset.js';
import { type TraceEntry, TracingConnection } from '../../src/cards/trace.js';
import { memoryCard } from '../support/card-memory.js';

const MGMT = Uint8Array.from(Buffer.from('8899aabbccddeeff8899aabbccddeeff8899aabbccddeeff', 'hex'));

describe('resetToTransport', () => {
  it('wipes a personalized card back to default PIN, PUK and management key', async () => {
    const { session } = await memoryCard();
    await session.authenticate();
    await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
    await session.putCcc();
    await session.setManagementKey(MGMT);
    await session.changePin('123456', '97531975');
    await session.changePuk('12345678', '24680246');
    const { apdus } = await resetToTransport(session);
    expect(apdus).toBeLessThanOrEqual(12);
    expect(await session.getSlotMetadata(SLOT.AUTHENTICATION)).toBeUndefined();
    expect(await session.getObject(OBJECT.CAPABILITY)).toBeUndefined();
    await session.verifyPin('123456');
    expect((await session.getReferenceMetadata(0x81)).isDefault).toBe(true);
    expect((await session.getManagementKeyMetadata()).isDefault).toBe(true);
  });
});

describe('APDU trace', () => {
  it('shows commands and answers but never PIN, PUK or key material', async () => {
    const { readers } = await memoryCard();
    const entries: TraceEntry[] = [];
    const conn = new TracingConnection(await readers.connect('Memory Reader 0'), (e) => entries.push(e));
    const session = await PivSession.open(conn);
    await session.verifyPin('123456');
    await session.changePin('123456', '31415926');
    await session.changePuk('12345678', '27182818');
    await session.unblockPin('27182818', '16180339');
    await session.authenticate();
    await session.setManagementKey(MGMT);
    await session.getVersion();
    const text = entries.map((e) => `${e.direction} ${e.name} ${e.text}`).join('\n');
    for (const secret of ['123456', '31415926', '27182818', '16180339', '12345678']) {
      expect(text).not.toContain(Buffer.from(secret).toString('hex').toUpperCase());
    }
    expect(text).not.toContain(Buffer.from(MGMT).toString('hex').toUpperCase());
    expect(text).not.toContain('0102030405060708');
    expect(text).toContain('command VERIFY 00200080 Lc=8 <8 bytes redacted>');
    expect(text).toContain('response GET VERSION 050403 SW=9000');
    expect(text).toMatch(/response GENERAL AUTHENTICATE <12 bytes redacted> SW=9000/);
  });
});
