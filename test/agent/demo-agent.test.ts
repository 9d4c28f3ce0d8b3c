// The built-in demo agent, in process: virtual readers with blank cards whose serials are the demo
// inventory's, reached through the real agent client and hub; its cards keep their state across
// restarts; tests can pull and reinsert its cards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardRemovedError } from '../../src/cards/errors.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { DEMO_DEVICE_SERIALS } from '../../src/services/bootstrap-service.js';
import { demoReaderName, type DemoAgents } from '../../src/services/demo-agent.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { until } from './support.js';

let server: TestServer;
let demo: DemoAgents | undefined;

const start = () => server.rt.startDemoAgents(server.url);

beforeAll(async () => {
  server = await startTestServer({ demo: true });
  demo = await start();
});
afterAll(async () => {
  await demo?.stop();
  await server?.close();
});

describe('demo agent', () => {
  it('serves three blank cards to the administrator and three to the issuance officer', async () => {
    const admin = demo!.of('admin')!;
    const ivan = demo!.of('ivan.issuer')!;
    expect(admin.cards.map((c) => c.serial)).toEqual(DEMO_DEVICE_SERIALS.slice(0, 3));
    expect(ivan.cards.map((c) => c.serial)).toEqual(DEMO_DEVICE_SERIALS.slice(3, 6));
    const readers = await until('admin readers', async () => {
      const l = await server.rt.cardAccess.listReaders(admin.ownerUserId);
      return l.length === 3 ? l : undefined;
    });
    expect(readers.map((r) => [r.reader, r.cardPresent])).toEqual([
      [demoReaderName(0), true],
      [demoReaderName(1), true],
      [demoReaderName(2), true],
    ]);
    // Every emulated card reports, over the relay, the serial of a device in the demo inventory.
    for (const r of readers) {
      const conn = await server.rt.cardAccess.connect(admin.ownerUserId, r.agentId, r.reader);
      const { serial } = await (await PivSession.open(conn)).getSerial();
      await conn.close?.();
      const found = await server.rt.services.devices.search({ q: serial, limit: 5, offset: 0 });
      expect(found.items.map((d) => [d.serial, d.state])).toEqual([[serial, 'inventory']]);
    }
    expect((await server.rt.cardAccess.listReaders(ivan.ownerUserId)).map((r) => r.agentName)).toEqual([
      'Demo agent (ivan.issuer)',
      'Demo agent (ivan.issuer)',
      'Demo agent (ivan.issuer)',
    ]);
  });

  it('lets a test pull a demo card mid-operation and put it back', async () => {
    const admin = demo!.of('admin')!;
    const reader = demoReaderName(1);
    const conn = await server.rt.cardAccess.connect(admin.ownerUserId, admin.agentId, reader);
    const piv = await PivSession.open(conn);
    const card = admin.readers.remove(reader)!;
    await expect(piv.getVersion()).rejects.toBeInstanceOf(CardRemovedError);
    await until('reader empty', async () =>
      (await server.rt.cardAccess.listReaders(admin.ownerUserId)).find(
        (r) => r.reader === reader && !r.cardPresent,
      ),
    );
    admin.readers.insert(reader, card);
    await until('card back', async () =>
      (await server.rt.cardAccess.listReaders(admin.ownerUserId)).find(
        (r) => r.reader === reader && r.cardPresent,
      ),
    );
  });

  it('keeps what was done to a card across a restart, on the same agent identity', async () => {
    const before = demo!.of('admin')!;
    const conn = await server.rt.cardAccess.connect(before.ownerUserId, before.agentId, demoReaderName(0));
    const piv = await PivSession.open(conn);
    await piv.authenticate();
    const { spki } = await piv.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
    await conn.close?.();
    await demo!.stop();
    demo = undefined;
    await until(
      'agents gone',
      async () => (await server.rt.cardAccess.listReaders(before.ownerUserId)).length === 0,
    );

    demo = await start();
    const after = demo.of('admin')!;
    expect(after.agentId).toBe(before.agentId);
    const card = after.readers.cardIn(demoReaderName(0))!;
    expect(String(card.serial)).toBe(DEMO_DEVICE_SERIALS[0]);
    expect(card.snapshot().keys['9a']).toBeDefined();
    await until(
      'readers back',
      async () => (await server.rt.cardAccess.listReaders(after.ownerUserId)).length === 3,
    );
    const again = await PivSession.open(
      await server.rt.cardAccess.connect(after.ownerUserId, after.agentId, demoReaderName(0)),
    );
    expect((await again.getSerial()).serial).toBe(DEMO_DEVICE_SERIALS[0]);
    expect(spki.length).toBeGreaterThan(60);
  });
});
