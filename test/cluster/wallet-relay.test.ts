// A phone paired with a workstation, across two servers on one PostgreSQL (issue #20 with #14): the
// phone's wallet is connected to server A; the workstation's relay resumes its pairing on server B,
// whose card connection to the phone goes through A. The wallet must still know a workstation is
// using it, and hold each key use for the person's answer (docs/mobile.md "Use at a workstation").
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode } from '../../src/agent/identity.js';
import { dropSchema, postgresAvailable, testSchemaName } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';
import { newWalletCard, phoneLink, portalSession } from '../wallet/support.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/cluster/wallet-relay.test.ts: no PostgreSQL at 127.0.0.1:5432');

type Reply = { type: string } & Record<string, unknown>;

async function relay(url: string, token: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/wallet/relay`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies: Reply[] = [];
  ws.on('message', (d) => replies.push(JSON.parse(String(d)) as Reply));
  return {
    send: (body: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, ...body })),
    next: (pred: (r: Reply) => boolean) => until('a relay reply', async () => replies.find(pred)),
    close: () => ws.close(),
  };
}

describe.skipIf(!pg)('a phone at a workstation across two servers', { timeout: 120_000 }, () => {
  const schema = testSchemaName('wrl');
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const config = { masterKey: randomBytes(32).toString('base64') };
    a = await startTestServer({ engine: 'postgres', schema, demo: true, config });
    b = await startTestServer({ engine: 'postgres', schema, config });
    a.rt.instance.startHeartbeat(() => undefined);
    b.rt.instance.startHeartbeat(() => undefined);
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await dropSchema(schema);
  });

  it('the relay on B reaches the phone on A marked as a workstation use: the key use waits for the phone', async () => {
    const admin = await signIn(a.url, a.admin.username, a.admin.password);
    const bob = await portalSession(a.url, admin, 'bob');
    const asked: string[] = [];
    const phone = phoneLink(
      a.url,
      await newWalletCard(),
      { code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code },
      async (r) => {
        asked.push(`${r.by}:${r.slot}`);
        return false;
      },
    );
    await phone.link.start();
    const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
    const desk = await pairWithCode(a.url, code, { name: 'Desk of bob' });

    // Paired through A (the server holding the phone)…
    const onA = await relay(a.url, desk.token);
    onA.send({ type: 'pair' });
    const p = await onA.next((x) => x.type === 'pairing');
    await until('the phone told', async () => phone.pairings.at(-1)?.find((x) => x.id === p.id));
    phone.link.decidePairing(String(p.id), true);
    await onA.next((x) => x.type === 'pairing' && x.state === 'active');
    onA.close();

    // …then used through B, whose card connection goes through A.
    const bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!
      .id;
    await until('B sees the phone (held by A)', async () =>
      (await b.rt.cardAccess.listReaders(bobId)).find((r) => r.reader.endsWith("'s phone")),
    );
    const onB = await relay(b.url, desk.token);
    onB.send({ type: 'resume', pairingId: p.id });
    await onB.next((x) => x.type === 'pairing' && x.state === 'active');
    onB.send({ type: 'power-on' });
    await onB.next((x) => x.type === 'atr');
    onB.send({ type: 'apdu', id: 'g1', apdu: '0087119a047c028100' });
    expect(await onB.next((x) => x.id === 'g1')).toMatchObject({ type: 'apdu-result', response: '6982' });
    expect(asked).toEqual(['Desk of bob:9A']);
    onB.close();
    phone.link.close();
  });
});
