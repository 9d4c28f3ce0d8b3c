// The agent client and the server's hub over a real WebSocket on loopback, with virtual cards in
// memory readers: readers and card events reach the server, a PIV session runs over the relay, an
// exchange in flight fails with a typed error (never hangs) when the agent drops or the card leaves,
// and the agent comes back by itself after the server drops it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import type { AgentIdentity } from '../../src/agent/identity.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { CardProtocolError, CardRemovedError, TransportError } from '../../src/cards/errors.js';
import WebSocket from 'ws';
import { SmartCardProtocol } from '../../src/cards/iso7816.js';
import { ALGORITHM, OBJECT, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { DEFAULT_TRANSMIT_TIMEOUT_MS } from '../../src/cards/transport/types.js';
import type { ConnectedReader } from '../../src/services/agent-hub.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { HoldingReaderSet, pairAgent, signIn, until } from './support.js';

let server: TestServer;
let admin: ApiClient;
let adminId: string;
let identity: AgentIdentity;
let memory: MemoryReaderSet;
let readers: HoldingReaderSet;
let client: AgentClient;
const logs: string[] = [];

const R0 = 'Test Reader 0';
const R1 = 'Test Reader 1';

beforeAll(async () => {
  server = await startTestServer();
  admin = await signIn(server.url, server.admin.username, server.admin.password);
  adminId = (await admin.json<{ user: { id: string } }>('GET', '/api/auth/session')).body.user.id;
  identity = await pairAgent(admin, 'Relay test agent');
  memory = new MemoryReaderSet();
  memory.addReader(R0);
  memory.addReader(R1);
  memory.insert(R0, new VirtualPivCard(undefined));
  readers = new HoldingReaderSet(memory);
  client = new AgentClient({
    server: server.url,
    token: identity.token,
    readers,
    backoff: { initialMs: 50, maxMs: 200 },
    log: (l) => logs.push(l),
  });
  client.start();
  await client.waitConnected();
});

afterAll(async () => {
  await client?.stop();
  await server?.close();
});

afterEach(() => readers.release());

const hub = () => server.rt.cardAccess;
const readersNow = (): Promise<ConnectedReader[]> => hub().listReaders(adminId);

describe('agent ↔ server relay', () => {
  it('reports its readers and the card in each', async () => {
    const list = await until('both readers', async () => {
      const l = await readersNow();
      return l.length === 2 ? l : undefined;
    });
    expect(list.map((r) => [r.reader, r.cardPresent, r.agentName])).toEqual([
      [R0, true, 'Relay test agent'],
      [R1, false, 'Relay test agent'],
    ]);
    expect(list[0]!.atr).toMatch(/^[0-9a-f]+$/);
    expect(list[0]!.agentId).toBe(identity.agentId);
    // The same through HTTP, for the signed-in person.
    const http = await admin.json<ConnectedReader[]>('GET', '/api/agents/readers');
    expect(http.status).toBe(200);
    expect(http.body.map((r) => r.reader)).toEqual([R0, R1]);
    expect(logs.join('\n')).toMatch(/Connected to .* as "Relay test agent"/);
  });

  it('insert and remove events reach the server and its watchers', async () => {
    const seen: string[] = [];
    const unwatch = hub().watch(adminId, (e) =>
      seen.push(`${e.type} ${e.reader} ${e.agentId === identity.agentId}`),
    );
    try {
      const card = new VirtualPivCard();
      memory.insert(R1, card);
      await until('card in R1', async () =>
        (await readersNow()).find((r) => r.reader === R1 && r.cardPresent),
      );
      memory.remove(R1);
      await until('R1 empty', async () =>
        (await readersNow()).find((r) => r.reader === R1 && !r.cardPresent),
      );
      expect(seen).toEqual([`card-inserted ${R1} true`, `card-removed ${R1} true`]);
      expect(logs.join('\n')).toMatch(
        /Card inserted in "Test Reader 1"[\s\S]*Card removed from "Test Reader 1"/,
      );
    } finally {
      unwatch();
    }
  });

  it('keeps each card’s serial as the agent read it (card-serial), and forgets it with the card', async () => {
    const id = identity.agentId;
    const r0 = String(memory.cardIn(R0)!.serial);
    await until('R0 with its serial', () =>
      server.rt.agentHub.readersOf(id).find((r) => r.name === R0 && r.serial === r0),
    );
    const card = new VirtualPivCard();
    memory.insert(R1, card);
    await until('R1 with its serial', () =>
      server.rt.agentHub.readersOf(id).find((r) => r.name === R1 && r.serial === String(card.serial)),
    );
    expect(server.rt.agentHub.snapshot(id)!.readers.find((r) => r.name === R1)).toMatchObject({
      cardPresent: true,
      serial: String(card.serial),
    });
    memory.remove(R1);
    const gone = await until('R1 empty', () =>
      server.rt.agentHub.readersOf(id).find((r) => r.name === R1 && !r.cardPresent),
    );
    expect(gone.serial).toBeNull();
  });

  it('runs a PIV session over the relay: select, serial, management key, generate key', async () => {
    const card = memory.cardIn(R0)!;
    const conn = await hub().connect(adminId, identity.agentId, R0);
    try {
      expect(conn.reader).toBe(R0);
      const piv = await PivSession.open(conn);
      expect((await piv.getSerial()).serial).toBe(String(card.serial));
      await piv.authenticate();
      const { publicKey } = await piv.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
      expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(card.snapshot().keys['9a']).toBeDefined();
    } finally {
      await conn.close?.();
    }
  });

  it("a step's commands go to this agent in one frame (it announced apdu-batch), with the same effect", async () => {
    const card = memory.cardIn(R0)!;
    const conn = await hub().connect(adminId, identity.agentId, R0);
    try {
      expect(conn.transmitBatch).toBeDefined();
      const piv = await PivSession.open(conn);
      await piv.authenticate();
      const before = piv.apduCount;
      await piv.batch((b) => b.verifyPin('123456').setPinRetries(7, 5));
      await piv.batch((b) => b.putCcc().putObject(OBJECT.KEY_HISTORY, Uint8Array.of(0xc1, 1, 0)));
      expect(piv.apduCount - before).toBe(4);
      await piv.readObjectsAhead([OBJECT.KEY_HISTORY, OBJECT.CAPABILITY]);
      expect(Buffer.from((await piv.getObject(OBJECT.KEY_HISTORY))!).toString('hex')).toBe('c10100');
      expect(card.snapshot().pinCounter).toEqual({ total: 7, remaining: 7 });
    } finally {
      await conn.close?.();
    }
  });

  it('an agent that did not announce apdu-batch (an older one) gets its commands one by one', async () => {
    const old = await pairAgent(admin, 'Older agent');
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/agents/ws', {
      headers: { authorization: `Bearer ${old.token}` },
    });
    const got: string[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; id?: string };
      got.push(m.type);
      if (m.type === 'connect')
        ws.send(JSON.stringify({ v: 1, type: 'connect-result', id: m.id, session: 's1', atr: '3b00' }));
      if (m.type === 'apdu')
        ws.send(JSON.stringify({ v: 1, type: 'apdu-result', id: m.id, response: '9000' }));
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({ v: 1, type: 'hello', agentVersion: '0.0.9', hostname: 'old', platform: 'linux' }),
    );
    ws.send(
      JSON.stringify({
        v: 1,
        type: 'readers',
        readers: [{ name: 'Old reader', cardPresent: true, atr: '3b00' }],
      }),
    );
    try {
      const conn = await until('the old agent is live', () =>
        hub()
          .connect(adminId, old.agentId, 'Old reader')
          .catch(() => undefined),
      );
      expect(conn.transmitBatch).toBeUndefined();
      const sent = await new SmartCardProtocol(conn).transceiveAll([
        { cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(1), le: 0 },
        { cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(2), le: 0 },
      ]);
      expect(sent).toHaveLength(2);
      expect(got.filter((t) => t.startsWith('apdu'))).toEqual(['apdu', 'apdu']);
    } finally {
      ws.close();
    }
  });

  it('with apdu-chain the agent follows 61xx itself: a long answer from a card without extended APDUs in one frame', async () => {
    const conn = await hub().connect(adminId, identity.agentId, R0);
    try {
      const piv = await PivSession.open(conn, { extendedApdus: false });
      await piv.authenticate();
      const value = Uint8Array.from({ length: 1200 }, (_, i) => i & 0xff);
      await piv.putObject(OBJECT.PRINTED, value);
      await piv.verifyPin('123456');
      const before = piv.apduCount;
      // A 1,200-byte object in short APDUs: GET DATA, then five GET RESPONSE at the card.
      expect(Buffer.from((await piv.getObject(OBJECT.PRINTED))!)).toEqual(Buffer.from(value));
      expect(piv.apduCount - before).toBe(1);
    } finally {
      await conn.close?.();
    }
  });

  it('an agent that announced apdu-batch but not apdu-chain gets no chain field; the server follows 61xx', async () => {
    const batchOnly = await pairAgent(admin, 'Batch-only agent');
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/agents/ws', {
      headers: { authorization: `Bearer ${batchOnly.token}`, 'x-tessera-agent-features': 'apdu-batch' },
    });
    const frames: Record<string, unknown>[] = [];
    const answer = (apdu: string) => (apdu.startsWith('00c0') ? 'ccdd9000' : 'aabb6102');
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; id?: string; apdu?: string; apdus?: string[] };
      frames.push(m);
      if (m.type === 'connect')
        ws.send(JSON.stringify({ v: 1, type: 'connect-result', id: m.id, session: 's1', atr: '3b00' }));
      if (m.type === 'apdu')
        ws.send(JSON.stringify({ v: 1, type: 'apdu-result', id: m.id, response: answer(m.apdu!) }));
      if (m.type === 'apdus')
        ws.send(JSON.stringify({ v: 1, type: 'apdus-result', id: m.id, responses: [answer(m.apdus![0]!)] }));
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ v: 1, type: 'hello', agentVersion: '0.1.0', hostname: 'b', platform: 'linux' }));
    ws.send(
      JSON.stringify({
        v: 1,
        type: 'readers',
        readers: [{ name: 'B reader', cardPresent: true, atr: '3b00' }],
      }),
    );
    try {
      const conn = await until('the batch-only agent is live', () =>
        hub()
          .connect(adminId, batchOnly.agentId, 'B reader')
          .catch(() => undefined),
      );
      const get = { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(0x5c, 1, 0x7e), le: 256 };
      const [r] = await new SmartCardProtocol(conn).transceiveAll([get, get]);
      expect(Buffer.from(r!.data).toString('hex')).toBe('aabbccdd');
      const sent = frames.filter((f) => f.type === 'apdu' || f.type === 'apdus');
      // The batch stopped at 61xx; GET RESPONSE, then the second command, went one by one.
      expect(sent.map((f) => f.type)).toEqual(['apdus', 'apdu', 'apdu', 'apdu']);
      expect(sent.every((f) => !('chain' in f))).toBe(true);
      // It did not announce card-serial: its welcome lists no features (an older agent refuses the field).
      expect(frames.find((f) => f.type === 'welcome')).not.toHaveProperty('features');
      // …and a card-serial frame from it breaks the protocol (it was not agreed).
      ws.send(JSON.stringify({ v: 1, type: 'card-serial', reader: 'B reader', serial: '123' }));
      const closed = await new Promise<number>((r) => ws.once('close', (code) => r(code)));
      expect(closed).toBe(4400);
    } finally {
      ws.close();
    }
  });

  it('a card that breaks response chaining at the agent (apdu-chain) fails with CardProtocolError', async () => {
    memory.insert(R1, {
      atr: Uint8Array.of(0x3b, 0),
      reset: () => undefined,
      // More to come, but nothing in it: the agent gives up as the server would.
      transmit: async () => Uint8Array.of(0x61, 0x00),
    } as unknown as VirtualPivCard);
    try {
      await until('card in R1', async () =>
        (await readersNow()).find((r) => r.reader === R1 && r.cardPresent),
      );
      const conn = await hub().connect(adminId, identity.agentId, R1);
      const get = { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(0x5c, 1, 0x7e), le: 256 };
      await expect(new SmartCardProtocol(conn).transceive(get)).rejects.toBeInstanceOf(CardProtocolError);
      await conn.close?.();
    } finally {
      memory.remove(R1);
    }
  });

  it("refuses another person's agent as if it did not exist", async () => {
    await expect(
      hub().connect('00000000-0000-4000-8000-000000000000', identity.agentId, R0),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await hub().listReaders('00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  it('an exchange in flight fails with CardRemovedError when the card is pulled', async () => {
    const conn = await hub().connect(adminId, identity.agentId, R0);
    const piv = await PivSession.open(conn);
    const held = readers.hold();
    // Not getSerial: open read the serial already, with the SELECT.
    const inflight = piv.getVersion();
    inflight.catch(() => undefined);
    await held;
    const card = memory.remove(R0)!;
    // CardRemovedError, not a timeout: the removal ends the exchange, however slow the machine.
    await expect(inflight).rejects.toBeInstanceOf(CardRemovedError);
    readers.release();
    // The connection is stale: the card that comes back is a new power-up, as with a real reader.
    memory.insert(R0, card);
    await expect(conn.transmit(Uint8Array.from([0, 0xa4, 4, 0]))).rejects.toBeInstanceOf(CardRemovedError);
    await until('card back in R0', async () =>
      (await readersNow()).find((r) => r.reader === R0 && r.cardPresent),
    );
    const again = await PivSession.open(await hub().connect(adminId, identity.agentId, R0));
    expect((await again.getSerial()).serial).toBe(String(card.serial));
  });

  it('an exchange in flight fails with TransportError("agent disconnected") when the agent drops, and the agent reconnects', async () => {
    const conn = await hub().connect(adminId, identity.agentId, R0);
    const piv = await PivSession.open(conn);
    const held = readers.hold();
    // Not getSerial: open read the serial already, with the SELECT.
    const inflight = piv.getVersion();
    inflight.catch(() => undefined);
    await held;
    client.dropConnection();
    const err = await inflight.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/agent disconnected/);
    readers.release();
    await until('agent back', () => server.rt.agentHub.isConnected(identity.agentId));
    await until('readers back', async () => (await readersNow()).length === 2);
    const piv2 = await PivSession.open(await hub().connect(adminId, identity.agentId, R0));
    expect((await piv2.getSerial()).source).toBe('yubico');
  });

  it('comes back after the server drops its socket, and works again', async () => {
    const before = logs.length;
    server.rt.agentHub.disconnect(identity.agentId, 1012, 'server restarting');
    expect(server.rt.agentHub.isConnected(identity.agentId)).toBe(false);
    await until('agent back', () => server.rt.agentHub.isConnected(identity.agentId));
    expect(logs.slice(before).join('\n')).toMatch(/Disconnected \(1012: server restarting\); retrying in/);
    await until('readers back', async () => (await readersNow()).length === 2);
    const piv = await PivSession.open(await hub().connect(adminId, identity.agentId, R0));
    expect((await piv.getSerial()).serial).toBe(String(memory.cardIn(R0)!.serial));
  });

  it('fails cleanly when the agent does not answer in time', async () => {
    const conn = await hub().connect(adminId, identity.agentId, R0);
    await PivSession.open(conn);
    const held = readers.hold();
    const started = Date.now();
    const p = conn.transmit(Uint8Array.from([0, 0xcb, 0x3f, 0xff, 5, 0x5c, 3, 0x5f, 0xc1, 0x02]), {
      timeoutMs: 300,
    });
    await held;
    await expect(p).rejects.toMatchObject({ code: 'card_timeout' });
    // The 300 ms asked for, not the default deadline: a bound about the code, not the machine's speed.
    expect(Date.now() - started).toBeLessThan(DEFAULT_TRANSMIT_TIMEOUT_MS / 2);
  });
});
