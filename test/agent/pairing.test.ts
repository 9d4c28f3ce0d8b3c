// Pairing through the real HTTP API and WebSocket: a one-time code pairs exactly one agent, an
// expired code pairs none, revocation closes the agent's socket and kills its token, one operator
// never sees another's agents, malformed frames are refused clearly, and nothing secret is audited.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { pairWithCode } from '../../src/agent/identity.js';
import { CLOSE, PROTOCOL_VERSION } from '../../src/cards/transport/agent-protocol.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { PAIRING_ALPHABET } from '../../src/services/pairing-service.js';
import { SESSION_COOKIE } from '../../src/http/auth-guard.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { newCode, pairAgent, signIn, until } from './support.js';

let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
let server: TestServer;
let admin: ApiClient;
let ivan: ApiClient;

beforeAll(async () => {
  server = await startTestServer({ demo: true, clock });
  admin = await signIn(server.url, server.admin.username, server.admin.password);
  ivan = await signIn(server.url, 'ivan.issuer', server.demoPassword!);
});
afterAll(async () => {
  await server?.close();
});

type AgentRow = {
  id: string;
  name: string;
  hostname: string;
  connected: boolean;
  readers: { name: string }[];
};

function rawSocket(token: string | undefined): WebSocket {
  return new WebSocket(`${server.url.replace('http', 'ws')}/api/agents/ws`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string; frames: string[] }> {
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(d.toString()));
  return new Promise((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), frames })),
  );
}

function upgradeStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the socket opened')));
    ws.on('error', () => undefined);
  });
}

describe('pairing', () => {
  it('issues a one-time code that pairs exactly one agent', async () => {
    const r = await admin.json<{ code: string; expiresAt: string }>('POST', '/api/agents/pairing-codes', {});
    expect(r.status).toBe(201);
    expect(r.body.code).toMatch(new RegExp(`^[${PAIRING_ALPHABET}]{8}$`));
    const ttl = Date.parse(r.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000 + 1000);

    // Typed in lower case with a dash, as people do.
    const typed = `${r.body.code.slice(0, 4)}-${r.body.code.slice(4)}`.toLowerCase();
    const id = await pairWithCode(server.url, typed, { name: 'Desk 1', hostname: 'ws-desk-1' });
    expect(id.agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(id.token.length).toBeGreaterThanOrEqual(40);
    await expect(pairWithCode(server.url, r.body.code, { name: 'Desk 2' })).rejects.toThrow(
      /HTTP 400.*unknown, used or expired/,
    );

    const list = await admin.json<{ items: AgentRow[] }>('GET', '/api/agents');
    expect(list.body.items.map((a) => [a.name, a.hostname, a.connected])).toContainEqual([
      'Desk 1',
      'ws-desk-1',
      false,
    ]);
  });

  it('refuses an expired code', async () => {
    const code = await newCode(admin);
    offsetMs = 11 * 60_000;
    try {
      await expect(pairWithCode(server.url, code, { name: 'Late' })).rejects.toThrow(
        /unknown, used or expired/,
      );
    } finally {
      offsetMs = 0;
    }
    await expect(pairWithCode(server.url, 'ZZZZZZZZ', { name: 'Guess' })).rejects.toThrow(/HTTP 400/);
  });

  it('needs a session, the CSRF header and the right permission to issue codes', async () => {
    const anon = new ApiClient(server.url);
    expect((await anon.json('POST', '/api/agents/pairing-codes', {})).status).toBe(401);
    const noCsrf = await admin.call('POST', '/api/agents/pairing-codes', {}, { 'x-csrf-token': 'wrong' });
    expect(noCsrf.status).toBe(403);
    const alice = await signIn(server.url, 'alice', server.demoPassword!);
    const r = await alice.json<{ error: { code: string; message: string } }>(
      'POST',
      '/api/agents/pairing-codes',
      {},
    );
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/agent\.pair/);
  });

  it('lets a user-portal session pair an agent for self-issuance', async () => {
    const signedIn = await server.rt.services.auth.login('alice', server.demoPassword!, 'portal');
    const portal = new ApiClient(server.url);
    portal.cookie = `${SESSION_COOKIE}=${signedIn.token}`;
    portal.csrf = signedIn.csrfToken;
    const id = await pairAgent(portal, "Alice's laptop");
    const list = await portal.json<{ items: (AgentRow & { ownerKind: string })[] }>('GET', '/api/agents');
    expect(list.body.items.map((a) => [a.id, a.ownerKind])).toEqual([[id.agentId, 'portal']]);
    // A portal session holds self.* only, whatever the roles: even an administrator there cannot
    // see everyone's agents (the use case reads the session's permissions, not the roles).
    const adminIn = await server.rt.services.auth.login(
      server.admin.username,
      server.admin.password,
      'portal',
    );
    const adminPortal = new ApiClient(server.url);
    adminPortal.cookie = `${SESSION_COOKIE}=${adminIn.token}`;
    adminPortal.csrf = adminIn.csrfToken;
    const all = await adminPortal.json<{ error: { code: string } }>('GET', '/api/agents?all=true');
    expect([all.status, all.body.error.code]).toEqual([403, 'forbidden']);
    expect((await adminPortal.json('GET', '/api/agents')).status).toBe(200);
  });

  it("keeps one operator's agents invisible to another", async () => {
    const id = await pairAgent(admin, 'Admin desk');
    const memory = new MemoryReaderSet();
    memory.addReader('Admin Reader');
    memory.insert('Admin Reader', new VirtualPivCard());
    const client = new AgentClient({ server: server.url, token: id.token, readers: memory });
    client.start();
    try {
      await client.waitConnected();
      await until(
        'admin reader',
        async () => (await admin.json<unknown[]>('GET', '/api/agents/readers')).body.length > 0,
      );
      const ivansList = await ivan.json<{ items: AgentRow[] }>('GET', '/api/agents');
      expect(ivansList.body.items.map((a) => a.id)).not.toContain(id.agentId);
      expect((await ivan.json<unknown[]>('GET', '/api/agents/readers')).body).toEqual([]);
      expect((await ivan.json('POST', `/api/agents/${id.agentId}/revoke`, {})).status).toBe(404);
      const ivanId = (await ivan.json<{ user: { id: string } }>('GET', '/api/auth/session')).body.user.id;
      await expect(server.rt.cardAccess.connect(ivanId, id.agentId, 'Admin Reader')).rejects.toMatchObject({
        code: 'not_found',
      });
      // Listing everyone's agents is for agent.manage holders.
      expect((await ivan.json('GET', '/api/agents?all=true')).status).toBe(403);
      const all = await admin.json<{ items: AgentRow[] }>('GET', '/api/agents?all=true');
      expect(all.body.items.map((a) => a.name)).toEqual(
        expect.arrayContaining(['Admin desk', "Alice's laptop"]),
      );
      const mine = await admin.json<{ items: AgentRow[] }>('GET', '/api/agents');
      const row = mine.body.items.find((a) => a.id === id.agentId)!;
      expect(row.connected).toBe(true);
      expect(row.readers.map((r) => r.name)).toEqual(['Admin Reader']);
    } finally {
      await client.stop();
    }
  });

  it('revocation closes the agent socket, stops the agent and kills its token', async () => {
    const id = await pairAgent(admin, 'To revoke');
    const memory = new MemoryReaderSet();
    memory.addReader('R');
    let fatal = '';
    const client = new AgentClient({
      server: server.url,
      token: id.token,
      readers: memory,
      backoff: { initialMs: 50, maxMs: 100 },
      onFatal: (r) => (fatal = r),
    });
    client.start();
    await client.waitConnected();
    const r = await admin.json<AgentRow>('POST', `/api/agents/${id.agentId}/revoke`, {});
    expect(r.status).toBe(200);
    expect(r.body.connected).toBe(false);
    await until('agent stops', () => client.state === 'stopped');
    expect(fatal).toMatch(/revoked/);
    expect(server.rt.agentHub.isConnected(id.agentId)).toBe(false);
    expect(
      (await admin.json<{ items: AgentRow[] }>('GET', '/api/agents')).body.items.map((a) => a.id),
    ).not.toContain(id.agentId);
    // The token opens nothing any more.
    expect(await upgradeStatus(rawSocket(id.token))).toBe(401);
    let fatal2 = '';
    const again = new AgentClient({
      server: server.url,
      token: id.token,
      readers: memory,
      onFatal: (f) => (fatal2 = f),
    });
    again.start();
    await until('second agent refused', () => again.state === 'stopped');
    expect(fatal2).toMatch(/HTTP 401/);
  });

  it('refuses sockets without a valid token, and malformed frames clearly', async () => {
    expect(await upgradeStatus(rawSocket(undefined))).toBe(401);
    expect(await upgradeStatus(rawSocket('x'.repeat(43)))).toBe(401);

    const id = await pairAgent(admin, 'Raw');
    const notJson = rawSocket(id.token);
    const c1 = closeOf(notJson);
    notJson.on('open', () => notJson.send('{nope'));
    const r1 = await c1;
    expect(r1.code).toBe(CLOSE.PROTOCOL);
    expect(JSON.parse(r1.frames.at(-1)!)).toMatchObject({
      type: 'error',
      code: 'protocol_error',
      message: 'Agent frame is not JSON',
    });

    const wrongFirst = rawSocket(id.token);
    const c2 = closeOf(wrongFirst);
    wrongFirst.on('open', () =>
      wrongFirst.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'readers', readers: [] })),
    );
    expect((await c2).reason).toMatch(/first frame must be "hello"/);

    const badField = rawSocket(id.token);
    const c3 = closeOf(badField);
    badField.on('open', () =>
      badField.send(
        JSON.stringify({
          v: PROTOCOL_VERSION,
          type: 'hello',
          agentVersion: '1',
          hostname: 'h',
          platform: 'p',
          extra: 1,
        }),
      ),
    );
    expect((await c3).reason).toMatch(/"hello" is malformed/);

    const future = rawSocket(id.token);
    const c4 = closeOf(future);
    future.on('open', () => future.send(JSON.stringify({ v: 99, type: 'hello' })));
    expect((await c4).reason).toMatch(/protocol version 99/);
  });

  it('audits pairing and revocation without codes or tokens', async () => {
    const code = await newCode(admin);
    const id = await pairWithCode(server.url, code, { name: 'Audited' });
    await admin.json('POST', `/api/agents/${id.agentId}/revoke`, {});
    const audit = await admin.json<{ items: { action: string; targetId: string; details: unknown }[] }>(
      'GET',
      '/api/audit?limit=200',
    );
    const actions = audit.body.items.filter((e) => e.action.startsWith('agent.')).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['agent.pairing_code_issued', 'agent.paired', 'agent.revoked']),
    );
    const text = JSON.stringify(audit.body.items);
    expect(text).not.toContain(code);
    expect(text).not.toContain(id.token);
    const verify = await admin.json<{ ok: boolean }>('GET', '/api/audit/verify');
    expect(verify.body.ok).toBe(true);
  });
});
