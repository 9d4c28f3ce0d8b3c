// The server pings the workstation relay sockets (/api/wallet/relay, `tessera agent --wallet`) as it
// pings the agent sockets: a workstation that vanished without closing (switched off, its network
// gone: no FIN) answers no ping, and after three heartbeat periods the server cuts it off and ends
// its relay session — the card connection to the phone closed, the pairing no longer followed —
// instead of keeping it until TCP notices. A relay that answers stays. The heartbeat is 1 s here
// (TESSERA_AGENT_HEARTBEAT_SECONDS); the silent client is a raw `ws` client with autoPong off.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode } from '../../src/agent/identity.js';
import { signIn, until } from '../agent/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession } from './support.js';

type Reply = { type: string } & Record<string, unknown>;

async function relay(url: string, token: string, autoPong: boolean) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/wallet/relay`, {
    headers: { authorization: `Bearer ${token}` },
    autoPong,
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies: Reply[] = [];
  let closed: number | null = null;
  let pinged = 0;
  ws.on('message', (d) => replies.push(JSON.parse(String(d)) as Reply));
  ws.on('ping', () => pinged++);
  ws.on('close', (code) => (closed = code));
  return {
    ws,
    send: (body: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, ...body })),
    next: (pred: (r: Reply) => boolean) => until('a relay reply', async () => replies.find(pred)),
    closed: () => closed,
    pinged: () => pinged,
  };
}

describe('workstation relays are pinged', { timeout: 120_000 }, () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ demo: true, config: { agentHeartbeatSeconds: 1 } });
  }, 60_000);
  afterAll(async () => srv?.close());

  it('a relay that stops answering pings is cut off and its session ends; one that answers stays', async () => {
    const admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
    const bob = await portalSession(srv.url, admin, 'bob');
    const phone = phoneLink(srv.url, await newWalletCard(), {
      code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code,
    });
    await phone.link.start();
    const desk = async (name: string) =>
      pairWithCode(
        srv.url,
        (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code,
        {
          name,
        },
      );
    const gone = await desk('Desk that vanishes');
    const kept = await desk('Desk that stays');
    const sessions = (id: string) => srv.rt.services.workstationRelay.sessionsOf(id);

    // The vanishing workstation pairs with the phone and powers the card: the session holds a card
    // connection to the phone and follows the pairing.
    const silent = await relay(srv.url, gone.token, false);
    silent.send({ type: 'pair' });
    const p = await silent.next((x) => x.type === 'pairing');
    await until('the phone asked', async () => phone.pairings.at(-1)?.find((x) => x.id === p.id));
    phone.link.decidePairing(String(p.id), true);
    await silent.next((x) => x.type === 'pairing' && x.state === 'active');
    silent.send({ type: 'power-on' });
    await silent.next((x) => x.type === 'atr');
    const answering = await relay(srv.url, kept.token, true);
    expect(sessions(gone.agentId)).toBe(1);
    expect(sessions(kept.agentId)).toBe(1);

    // It answers no ping: the server cuts it off (no close handshake: 1006 on this side).
    const code = await until(
      'the server cuts the silent relay off',
      async () => silent.closed() ?? undefined,
      30_000,
    );
    expect(code).toBe(1006);
    expect(silent.pinged()).toBeGreaterThanOrEqual(3);
    await until('its session ended', async () => sessions(gone.agentId) === 0);
    // The one that answers was pinged as often and is still there.
    expect(answering.pinged()).toBeGreaterThanOrEqual(3);
    expect(answering.closed()).toBeNull();
    expect(sessions(kept.agentId)).toBe(1);

    // The pairing stays (only the connection went): the workstation resumes it and uses the card.
    const back = await relay(srv.url, gone.token, true);
    back.send({ type: 'resume', pairingId: p.id });
    await back.next((x) => x.type === 'pairing' && x.state === 'active');
    back.send({ type: 'power-on' });
    await back.next((x) => x.type === 'atr');
    back.ws.close();
    answering.ws.close();
    phone.link.close();
  });
});
