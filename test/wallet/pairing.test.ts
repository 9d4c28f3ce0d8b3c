// The workstation's relay to a phone (docs/mobile.md "Use at a workstation") over the real API and
// WebSockets: a Node-side wallet and a workstation agent's relay socket. Explicit on both sides (the
// phone refuses, then allows, comparing the code), only the person's own workstation may ask, APDUs
// reach the phone's card only while the pairing is active, a key use waits for the phone's answer
// (refused: 6982), and the pairing ends from the workstation or when an agent is revoked.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, type AgentIdentity } from '../../src/agent/identity.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';
import { newWalletCard, phoneLink, portalSession } from './support.js';

let srv: TestServer;
let admin: ApiClient;

type Reply = { type: string } & Record<string, unknown>;

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
}, 60_000);
afterAll(async () => srv?.close());

/** A workstation's relay socket, recording every reply. */
async function relay(id: AgentIdentity) {
  const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/api/wallet/relay`, {
    headers: { authorization: `Bearer ${id.token}` },
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies: Reply[] = [];
  ws.on('message', (d) => replies.push(JSON.parse(String(d)) as Reply));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return {
    replies,
    /** The close code, once the socket closed. */
    closed,
    send: (body: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, ...body })),
    next: (pred: (r: Reply) => boolean, seen = 0) =>
      until('a relay reply', async () => replies.slice(seen).find(pred)),
    close: () => ws.close(),
  };
}

async function workstation(username: string, name: string): Promise<AgentIdentity> {
  const person = await portalSession(srv.url, admin, username);
  const code = (await person.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
  return pairWithCode(srv.url, code, { name });
}

const SELECT_PIV = '00a4040009a00000030800001000';

describe('a phone paired with a workstation', { timeout: 120_000 }, () => {
  it('asks the phone, relays APDUs while allowed, waits for each key use, ends from the workstation', async () => {
    const bob = await portalSession(srv.url, admin, 'bob');
    const card = await newWalletCard();
    let answer = false;
    const asked: string[] = [];
    const phone = phoneLink(
      srv.url,
      card,
      { code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code },
      async (r) => {
        asked.push(`${r.by}:${r.slot}`);
        return answer;
      },
    );
    await phone.link.start();
    const desk = await workstation('bob', 'Desk of bob');

    // Alice's workstation cannot reach bob's phone: none of *her* phones is connected.
    const alicesDesk = await relay(await workstation('alice', 'Desk of alice'));
    alicesDesk.send({ type: 'pair' });
    expect((await alicesDesk.next((r) => r.type === 'error')).message).toMatch(/None of your phones/);
    alicesDesk.close();

    // Refused on the phone.
    const r = await relay(desk);
    r.send({ type: 'pair' });
    const first = await r.next((x) => x.type === 'pairing');
    expect(first).toMatchObject({ state: 'pending', wallet: "Bob Baker (demo)'s phone" });
    expect(String(first.code)).toMatch(/^\d{6}$/);
    const shown = await until('the phone told', async () =>
      phone.pairings.at(-1)?.find((p) => p.id === first.id),
    );
    expect(shown).toMatchObject({ workstation: 'Desk of bob', state: 'pending', code: first.code });
    // Before the phone decides, no APDU reaches it.
    r.send({ type: 'apdu', id: 'a0', apdu: SELECT_PIV });
    expect((await r.next((x) => x.type === 'apdu-error')).message).toMatch(/not allowed this pairing yet/);
    phone.link.decidePairing(String(first.id), false);
    await r.next((x) => x.type === 'pairing' && x.state === 'refused');

    // Allowed: APDUs reach the phone's card.
    const seen = r.replies.length;
    r.send({ type: 'pair' });
    const second = await r.next((x) => x.type === 'pairing' && x.state === 'pending', seen);
    await until('the phone told', async () => phone.pairings.at(-1)?.find((p) => p.id === second.id));
    phone.link.decidePairing(String(second.id), true);
    await r.next((x) => x.type === 'pairing' && x.id === second.id && x.state === 'active');
    r.send({ type: 'power-on' });
    expect(String((await r.next((x) => x.type === 'atr')).atr)).toMatch(/^3b/i);
    r.send({ type: 'apdu', id: 'a1', apdu: SELECT_PIV });
    expect(String((await r.next((x) => x.id === 'a1')).response)).toMatch(/9000$/);
    // A key use (GENERAL AUTHENTICATE on 9A) waits for the phone: refused, the card says 6982.
    r.send({ type: 'apdu', id: 'a2', apdu: '0087119a047c028100' });
    expect(await r.next((x) => x.id === 'a2')).toMatchObject({ type: 'apdu-result', response: '6982' });
    expect(asked).toEqual(['Desk of bob:9A']);
    answer = true;
    r.send({ type: 'apdu', id: 'a3', apdu: '0087119a047c028100' });
    // Allowed: the card itself answers (here: no PIN verified, so it refuses on its own terms).
    expect(String((await r.next((x) => x.id === 'a3')).response)).not.toBe('6982');

    // The workstation ends it: the phone's list empties, APDUs stop.
    r.send({ type: 'unpair' });
    await r.next((x) => x.type === 'pairing' && x.state === 'revoked');
    await until('the phone told', async () => (phone.pairings.at(-1)?.length === 0 ? true : undefined));
    r.send({ type: 'apdu', id: 'a4', apdu: SELECT_PIV });
    expect((await r.next((x) => x.id === 'a4')).message).toMatch(/has ended/);
    const audit = JSON.stringify((await admin.json('GET', '/api/audit?action=wallet.unpaired')).body);
    expect(audit).toContain('workstation');
    r.close();
    phone.link.close();
  });

  it("a wallet's token cannot open a relay, and revoking the workstation's agent ends its pairing", async () => {
    const bob = await portalSession(srv.url, admin, 'bob');
    const phone = phoneLink(srv.url, await newWalletCard(), {
      code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code,
    });
    const info = await phone.link.start();
    const refused = new WebSocket(`${srv.url.replace('http', 'ws')}/api/wallet/relay`, {
      headers: { authorization: `Bearer ${info.token}` },
    });
    const status = await new Promise<number>((resolve) =>
      refused.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);

    const desk = await workstation('bob', 'Desk 2 of bob');
    const r = await relay(desk);
    r.send({ type: 'pair' });
    const p = await r.next((x) => x.type === 'pairing');
    await until('the phone told', async () => phone.pairings.at(-1)?.find((x) => x.id === p.id));
    phone.link.decidePairing(String(p.id), true);
    await r.next((x) => x.type === 'pairing' && x.state === 'active');
    r.send({ type: 'power-on' });
    await r.next((x) => x.type === 'atr');
    expect((await bob.json('POST', `/api/agents/${desk.agentId}/revoke`, {})).status).toBe(200);
    // The open relay is closed at once with 4001 ("revoked": the agent stops for good), and the
    // pairing ended by the server: the phone is told.
    expect(await r.closed).toBe(4001);
    expect(r.replies.some((x) => x.type === 'pairing' && x.state === 'revoked')).toBe(false);
    await until('the phone told the pairing ended', async () =>
      phone.pairings.at(-1)?.every((x) => x.id !== p.id) ? true : undefined,
    );
    // Its token opens nothing any more.
    const again = new WebSocket(`${srv.url.replace('http', 'ws')}/api/wallet/relay`, {
      headers: { authorization: `Bearer ${desk.token}` },
    });
    expect(
      await new Promise<number>((resolve) =>
        again.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)),
      ),
    ).toBe(401);
    r.close();
    phone.link.close();
  });
});
