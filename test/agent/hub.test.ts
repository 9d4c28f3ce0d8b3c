// The hub and the pairing store on both engines (PGlite and PostgreSQL), with a fast heartbeat:
// a code raced by two agents pairs one; a silent agent is cut off and its exchanges fail; an agent
// that stops hearing the server reconnects by itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { PROTOCOL_VERSION, frame, parseAgentMessage } from '../../src/cards/transport/agent-protocol.js';
import { TransportError } from '../../src/cards/errors.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { AgentHub } from '../../src/services/agent-hub.js';
import { systemActor, systemClock } from '../../src/services/context.js';
import { PairingService } from '../../src/services/pairing-service.js';
import { insertUser } from '../../src/store/users-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { until } from './support.js';

const HEARTBEAT_MS = 150;

/**
 * A loopback WebSocket server that, like the real route, authenticates the bearer token before the
 * upgrade and hands the socket over as soon as it opens.
 */
async function wsServer<A>(
  authenticate: (token: string) => Promise<A | null>,
  onSocket: (ws: WebSocket, who: A) => void,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer();
  const who = new WeakMap<object, A>();
  const wss = new WebSocketServer({
    server,
    path: '/api/agents/ws',
    verifyClient: (info, done) => {
      void authenticate((info.req.headers.authorization ?? '').replace(/^Bearer /, '')).then((a) => {
        if (a) who.set(info.req, a);
        done(a !== null, 401);
      });
    },
  });
  wss.on('connection', (ws, req) => onSocket(ws, who.get(req)!));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

describe.each(await engines())('agent hub and pairing store on %s', (engine) => {
  let t: TestDb;
  let hub: AgentHub;
  let pairing: PairingService;
  let ownerId: string;

  beforeAll(async () => {
    t = await openTestDb(engine);
    const ctx = { db: t.db, clock: systemClock };
    hub = new AgentHub(ctx, { heartbeatMs: HEARTBEAT_MS });
    pairing = new PairingService(ctx, hub);
    ownerId = (
      await insertUser(t.db, { username: 'op', displayName: 'Operator', roles: ['admin'], at: new Date() })
    ).id;
  });
  afterAll(async () => {
    hub?.close();
    await t?.drop();
  });

  const operator = () => ({ ...systemActor('op'), id: ownerId });

  it('a code raced by two agents pairs exactly one', async () => {
    const { code } = await pairing.createCode(operator(), 'operator');
    const results = await Promise.allSettled([
      pairing.pair({ code, name: 'A', hostname: 'a' }),
      pairing.pair({ code, name: 'B', hostname: 'b' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = results.find((r) => r.status === 'fulfilled')!;
    const token = (winner as PromiseFulfilledResult<{ token: string }>).value.token;
    expect((await pairing.authenticate(token))?.ownerUserId).toBe(ownerId);
    expect(await pairing.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeNull();
  });

  it('cuts off an agent that falls silent, failing its exchanges', async () => {
    const { code } = await pairing.createCode(operator(), 'operator');
    const { token } = await pairing.pair({ code, name: 'Silent', hostname: 's' });
    const srv = await wsServer(
      (tok) => pairing.authenticate(tok),
      (ws, rec) => hub.attach(ws, rec),
    );
    try {
      // A hand-driven agent: says hello, reports a card, accepts one connect, then goes silent.
      const { default: WS } = await import('ws');
      const raw = new WS(srv.url.replace('http', 'ws') + '/api/agents/ws', {
        headers: { authorization: `Bearer ${token}` },
      });
      let answering = true;
      let pongs = 0;
      raw.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { type: string; id?: string };
        if (!answering) return;
        if (m.type === 'welcome')
          raw.send(frame({ type: 'readers', readers: [{ name: 'R', cardPresent: true, atr: '3b00' }] }));
        if (m.type === 'connect')
          raw.send(frame({ type: 'connect-result', id: m.id!, session: 's1', atr: '3b00' }));
        if (m.type === 'ping') {
          raw.send(frame({ type: 'pong', at: 0 }));
          pongs += 1;
        }
      });
      const closed = new Promise<number>((r) => raw.on('close', (c) => r(c)));
      await new Promise((r) => raw.on('open', r));
      raw.send(
        JSON.stringify({
          v: PROTOCOL_VERSION,
          type: 'hello',
          agentVersion: 't',
          hostname: 'h',
          platform: 'p',
        }),
      );
      await until('reader listed', async () => (await hub.listReaders(ownerId)).length === 1);
      const conn = await hub.connect(ownerId, (await hub.listReaders(ownerId))[0]!.agentId, 'R');
      // Alive for several heartbeats while it answers pings: counted, not slept, so a slow machine
      // waits longer instead of failing.
      await until('five pings answered', () => pongs >= 5, 60_000);
      expect((await hub.listReaders(ownerId)).length).toBe(1);
      answering = false;
      const deadlineMs = 60_000;
      const inflight = conn.transmit(Uint8Array.from([0, 0xa4, 4, 0]), { timeoutMs: deadlineMs });
      const started = Date.now();
      await expect(inflight).rejects.toBeInstanceOf(TransportError);
      await expect(inflight).rejects.toThrow(/agent disconnected|heartbeat/);
      // Cut off by the heartbeat, not by waiting out the exchange's own deadline.
      expect(Date.now() - started).toBeLessThan(deadlineMs / 2);
      expect(await hub.listReaders(ownerId)).toEqual([]);
      expect(await closed).toBe(1006);
    } finally {
      await srv.close();
    }
  });

  it('pings an idle agent each period, not one it is exchanging frames with', async () => {
    const { code } = await pairing.createCode(operator(), 'operator');
    const { token } = await pairing.pair({ code, name: 'Busy', hostname: 'b' });
    const record = (await pairing.authenticate(token))!;
    // The hub's own clock and beats, moved by hand: which beat pings is then exact.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const period = 10_000;
    const own = new AgentHub({ db: t.db, clock: systemClock }, { heartbeatMs: period });
    try {
      const sent: string[] = [];
      const handlers: Record<string, (...args: never[]) => void> = {};
      const socket = {
        readyState: 1,
        send: (d: string) => void sent.push((JSON.parse(d) as { type: string }).type),
        close: () => undefined,
        terminate: () => undefined,
        on: (event: string, l: (...args: never[]) => void) => void (handlers[event] = l),
      };
      const hear = (body: Parameters<typeof frame>[0]) =>
        (handlers.message as unknown as (d: Buffer, b: boolean) => void)(Buffer.from(frame(body)), false);
      own.attach(socket, record);
      hear({ type: 'hello', agentVersion: 't', hostname: 'h', platform: 'p' });
      hear({ type: 'readers', readers: [{ name: 'R', cardPresent: true, atr: '3b00' }] });
      const pings = () => sent.filter((x) => x === 'ping').length;
      // Idle: a ping at every beat.
      vi.advanceTimersByTime(period);
      expect(pings()).toBe(1);
      hear({ type: 'pong', at: 0 });
      // Even when the clock read at the ping ran ahead of the beat's schedule (a busy event loop):
      // a ping and its pong are not traffic.
      vi.setSystemTime(Date.now() - 5);
      vi.advanceTimersByTime(period);
      expect(pings()).toBe(2);
      hear({ type: 'pong', at: 0 });
      // Busy: frames both ways within each period (a connect and its answer): no ping.
      for (let i = 0; i < 3; i++) {
        vi.advanceTimersByTime(period / 2);
        const conn = own.connect(ownerId, record.id, 'R');
        const id = `r${i + 1}`;
        hear({ type: 'connect-result', id, session: `s${i}`, atr: '3b00' });
        await conn;
        vi.advanceTimersByTime(period / 2);
      }
      expect(pings()).toBe(2);
      // Heard from but not sent to (or the other way round): pinged again.
      vi.advanceTimersByTime(period / 2);
      hear({ type: 'reader-event', event: { type: 'reader-added', reader: 'S' } });
      vi.advanceTimersByTime(period / 2);
      expect(pings()).toBe(3);
    } finally {
      own.close();
      vi.useRealTimers();
    }
  });

  it("one presence write per period: every agent's last-seen moves, one revoked elsewhere is cut off", async () => {
    const srv = await wsServer(
      (tok) => pairing.authenticate(tok),
      (ws, rec) => hub.attach(ws, rec),
    );
    const clients: AgentClient[] = [];
    try {
      const ids: string[] = [];
      for (const name of ['P1', 'P2', 'P3']) {
        const { code } = await pairing.createCode(operator(), 'operator');
        const { token, agentId } = await pairing.pair({ code, name, hostname: name.toLowerCase() });
        ids.push(agentId);
        const readers = new MemoryReaderSet();
        readers.addReader(`${name} reader`);
        const c = new AgentClient({ server: srv.url, token, readers, backoff: { initialMs: 20, maxMs: 50 } });
        clients.push(c);
        c.start();
      }
      await Promise.all(clients.map((c) => c.waitConnected(30_000)));
      const [p1, p2, p3] = ids as [string, string, string];
      const seen = async () =>
        new Map(
          (
            await t.db.query<{ id: string; last_seen_at: Date | null }>(
              'SELECT id, last_seen_at FROM agents WHERE id = ANY($1::uuid[])',
              [ids],
            )
          ).map((r) => [r.id, r.last_seen_at === null ? 0 : new Date(r.last_seen_at).getTime()]),
        );
      // Forgotten on purpose: the sweep must write every one of them again.
      await t.db.query('UPDATE agents SET last_seen_at = NULL WHERE id = ANY($1::uuid[])', [ids]);
      await until('every agent seen again', async () => [...(await seen()).values()].every((v) => v > 0));
      // Revoked by another server (straight in the database): this hub cuts it off at a sweep.
      await t.db.query('UPDATE agents SET revoked_at = now() WHERE id = $1', [p2]);
      await until('the revoked agent gone', async () =>
        (await hub.listReaders(ownerId)).every((r) => r.agentId !== p2),
      );
      const readersLeft = (await hub.listReaders(ownerId)).map((r) => r.agentId).sort();
      expect(readersLeft).toEqual([p1, p3].sort());
      // The others are still written at each sweep; the revoked one no longer is.
      const before = await seen();
      await until('the live agents seen later', async () => {
        const now = await seen();
        return now.get(p1)! > before.get(p1)! && now.get(p3)! > before.get(p3)!;
      });
      expect((await seen()).get(p2)).toBe(before.get(p2));
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
      await srv.close();
    }
  });

  it('the agent reconnects when it stops hearing the server', async () => {
    let connections = 0;
    const srv = await wsServer(
      async () => true,
      (ws) => {
        connections += 1;
        ws.on('message', (d) => {
          const m = parseAgentMessage(d.toString());
          // Welcome, then never a word again (a half-open connection behind a dead NAT).
          if (m.type === 'hello')
            ws.send(frame({ type: 'welcome', agentId: 'a1', name: 'n', heartbeatMs: HEARTBEAT_MS }));
        });
      },
    );
    const readers = new MemoryReaderSet();
    readers.addReader('R');
    readers.insert('R', new VirtualPivCard());
    const logs: string[] = [];
    const client = new AgentClient({
      server: srv.url,
      token: 't'.repeat(43),
      readers,
      backoff: { initialMs: 20, maxMs: 50 },
      log: (l) => logs.push(l),
    });
    client.start();
    try {
      await until('three connections', () => connections >= 3, 15_000);
      expect(logs.join('\n')).toMatch(/No word from the server for \d+ s: reconnecting/);
    } finally {
      await client.stop();
      await srv.close();
    }
  });
});
