// The agent's side of the card-serial feature (cards/transport/agent-protocol.ts): it reads the
// serial of each card it reports present and sends it in a card-serial frame after the report — only
// to a server whose welcome lists the feature (an older server would refuse the frame). The report
// itself is not held back for the read, and a card gone before its read ends has no serial sent. A
// small WebSocket server on loopback plays the server, so each frame the agent sends is seen as sent.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { AgentClient } from '../../src/agent/agent-client.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { ProtocolError, parseAgentMessage } from '../../src/cards/transport/agent-protocol.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { ReaderSet } from '../../src/cards/transport/types.js';
import { HoldingReaderSet, until } from './support.js';

type Frame = {
  type: string;
  reader?: string;
  serial?: string;
  readers?: Record<string, unknown>[];
  event?: { type: string; reader: string };
};

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A server that welcomes the agent (listing `features` when given) and keeps every frame it sends. */
async function fakeServer(features?: string[]) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const frames: Frame[] = [];
  const headers: string[] = [];
  wss.on('connection', (ws: WebSocket, req) => {
    headers.push(String(req.headers['x-tessera-agent-features'] ?? ''));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Frame;
      if (m.type !== 'hello') frames.push(m);
      if (m.type === 'hello')
        ws.send(
          JSON.stringify({
            v: 1,
            type: 'welcome',
            agentId: 'a1',
            name: 'Desk',
            heartbeatMs: 60_000,
            ...(features ? { features } : {}),
          }),
        );
    });
  });
  stops.push(() => new Promise<void>((r) => wss.close(() => r())));
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, frames, headers };
}

async function agent(url: string, readers: ReaderSet, cardSerials?: boolean): Promise<AgentClient> {
  const client = new AgentClient({
    server: url,
    token: 't',
    readers,
    backoff: { initialMs: 50, maxMs: 200 },
    ...(cardSerials === undefined ? {} : { cardSerials }),
  });
  stops.push(() => client.stop());
  client.start();
  await client.waitConnected();
  return client;
}

/** The frames in a short form: "readers", "card-inserted R0", "card-serial R0 61000001"… */
const said = (frames: Frame[]) =>
  frames
    .filter((f) => f.type !== 'printers')
    .map((f) =>
      f.type === 'reader-event'
        ? `${f.event!.type} ${f.event!.reader}`
        : f.type === 'card-serial'
          ? `card-serial ${f.reader} ${f.serial}`
          : f.type,
    );

describe('the agent sends card serials (card-serial)', () => {
  it('to a server that lists the feature: after the snapshot, and after each insert', async () => {
    const server = await fakeServer(['card-serial']);
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    memory.addReader('R1');
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000001 })));
    await agent(server.url, memory);
    expect(server.headers[0]!.split(',')).toContain('card-serial');
    await until('R0’s serial', () => said(server.frames).length === 2);
    expect(said(server.frames)).toEqual(['readers', 'card-serial R0 61000001']);
    // The snapshot itself is as before: no serial in it.
    expect(server.frames[0]!.readers).toEqual([
      { name: 'R0', cardPresent: true, atr: expect.stringMatching(/^[0-9a-f]+$/) },
      { name: 'R1', cardPresent: false, atr: null },
    ]);
    memory.insert('R1', new VirtualPivCard(newCardState({ serial: 61000002 })));
    await until('R1’s serial', () => said(server.frames).length === 4);
    memory.remove('R1');
    await until('the removal', () => said(server.frames).length === 5);
    expect(said(server.frames).slice(2)).toEqual([
      'card-inserted R1',
      'card-serial R1 61000002',
      'card-removed R1',
    ]);
  });

  it('to a server that does not list it (an older one): no card-serial frame', async () => {
    const server = await fakeServer();
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000003 })));
    await agent(server.url, memory);
    memory.remove('R0');
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000004 })));
    await until('both events', () => said(server.frames).length >= 3);
    // A read, had one been made, would be done well within this (the emulator answers at once).
    await new Promise((r) => setTimeout(r, 200));
    expect(said(server.frames)).toEqual(['readers', 'card-removed R0', 'card-inserted R0']);
  });

  it('an agent told not to (tessera agent --no-card-serial) does not announce it, and sends none', async () => {
    const server = await fakeServer(['card-serial']);
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000011 })));
    await agent(server.url, memory, false);
    expect(server.headers[0]!.split(',')).not.toContain('card-serial');
    expect(server.headers[0]!.split(',')).toContain('apdu-batch');
    memory.remove('R0');
    await until('the removal', () => said(server.frames).length === 2);
    // (This fake server lists the feature regardless: the agent keeps to what it announced.)
    expect(said(server.frames)).toEqual(['readers', 'card-removed R0']);
  });

  it('a card pulled before its serial is read has none sent; the card that follows has its own', async () => {
    const server = await fakeServer(['card-serial']);
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    await agent(server.url, memory);
    await until('the snapshot', () => said(server.frames).length === 1);
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000005 })));
    memory.remove('R0');
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000006 })));
    await until('the last card’s serial', () => said(server.frames).includes('card-serial R0 61000006'));
    expect(said(server.frames)).toEqual([
      'readers',
      'card-inserted R0',
      'card-removed R0',
      'card-inserted R0',
      'card-serial R0 61000006',
    ]);
  });

  it('a card slow to answer is reported at once; its serial follows when the card answers', async () => {
    const server = await fakeServer(['card-serial']);
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    const readers = new HoldingReaderSet(memory);
    await agent(server.url, readers);
    await until('the snapshot', () => said(server.frames).length === 1);
    const held = readers.hold();
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000007 })));
    await held;
    await until('the insert, while the read waits', () => said(server.frames).length === 2);
    expect(said(server.frames)).toEqual(['readers', 'card-inserted R0']);
    readers.release();
    await until('the serial', () => said(server.frames).length === 3);
    expect(said(server.frames)[2]).toBe('card-serial R0 61000007');
  });

  it('a card the reader cannot connect to: reported, no serial, and the agent carries on', async () => {
    const server = await fakeServer(['card-serial']);
    const memory = new MemoryReaderSet();
    memory.addReader('R0');
    memory.addReader('R1');
    // R0's card refuses every connection (a mute card, a reader another program holds).
    const readers: ReaderSet = {
      list: () => memory.list(),
      watch: (l) => memory.watch(l),
      connect: (reader) =>
        reader === 'R0' ? Promise.reject(new Error('the card does not answer')) : memory.connect(reader),
      close: () => memory.close(),
    };
    await agent(server.url, readers);
    memory.insert('R0', new VirtualPivCard(newCardState({ serial: 61000009 })));
    memory.insert('R1', new VirtualPivCard(newCardState({ serial: 61000010 })));
    await until('R1’s serial', () => said(server.frames).includes('card-serial R1 61000010'));
    expect(said(server.frames)).toEqual([
      'readers',
      'card-inserted R0',
      'card-inserted R1',
      'card-serial R1 61000010',
    ]);
  });

  it('the server takes a serial of letters and digits only, 64 at most', () => {
    const frame = (serial: string) => JSON.stringify({ v: 1, type: 'card-serial', reader: 'R0', serial });
    expect(parseAgentMessage(frame('61000001'))).toMatchObject({ serial: '61000001' });
    expect(parseAgentMessage(frame('a'.repeat(64)))).toBeTruthy();
    for (const bad of ['', 'a'.repeat(65), '61 000', '<x>'])
      expect(() => parseAgentMessage(frame(bad))).toThrow(ProtocolError);
  });
});
