// A phone's link ended with its device closes at once on whichever server holds it (issue #20;
// docs/mobile.md "Lifecycle"), with real processes: two `tessera serve` on one PostgreSQL schema,
// the phones' wallets (the same card application and link client the phone runs, over a real
// WebSocket) connected to server A, whose heartbeat is set to 300 s so that its re-check (the
// fallback) cannot be what closes them here:
//  - carol's phone, issued through B and paired with her workstation (whose relay is on B),
//    terminated by the administrator on B: A closes its link with 4001 (revoked) once the
//    termination commits, the wallet is revoked and audited, and the pairing ends (by the server):
//    the workstation's relay is told;
//  - dave's phone reset (a blank card with a new serial) coming back to B with its token while its
//    old link is still open on A: B ends the old card and the link, and A closes that link.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode } from '../../src/agent/identity.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { postgresAvailable } from '../support/db.js';
import type { ApiClient } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession } from '../wallet/support.js';
import { startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/cluster/wallet-terminated.test.ts: no PostgreSQL at 127.0.0.1:5432');

type Job = { id: string; status: string; deviceId: string; error: { message: string } | null };
type Reply = { type: string } & Record<string, unknown>;
const PIN = '135790';
const REVOKED = 4001;

/** A workstation's relay (what `tessera agent --wallet` opens), recording the server's replies. */
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
    ws,
    send: (body: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, ...body })),
    next: (pred: (r: Reply) => boolean) => until('a relay reply', async () => replies.find(pred)),
  };
}

describe.skipIf(!pg)('a phone ended through another server', { timeout: 300_000 }, () => {
  let two: TwoServers;
  let onB: ApiClient;
  let policyId: string;
  const ids: Record<string, string> = {};
  const links: { close(): void }[] = [];

  beforeAll(async () => {
    two = await startTwoServers('wterm', { env: { a: { TESSERA_AGENT_HEARTBEAT_SECONDS: '300' } } });
    onB = await signIn(two.url('b'), 'admin', two.adminPassword);
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    policyId = (await onB.json<{ id: string }>('POST', '/api/policies', ecc)).body.id;
    for (const u of ['carol', 'dave']) {
      const r = await onB.json<{ id: string }>('POST', '/api/users', {
        username: u,
        displayName: `${u[0]!.toUpperCase()}${u.slice(1)} Ended`,
        roles: ['user'],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids[u] = r.body.id;
    }
  }, 300_000);

  afterAll(async () => {
    for (const l of links) l.close();
    await two?.stop();
  });

  /** `user`'s phone, linked by the administrator on B, its wallet connected to A. */
  const phoneOnA = async (user: string) => {
    const link = await onB.json<{ code: string }>('POST', '/api/wallet/links', { userId: ids[user] });
    expect(link.status).toBe(201);
    const card = await newWalletCard();
    const phone = phoneLink(two.url('a'), card, { code: link.body.code });
    links.push(phone.link);
    const info = await phone.link.start();
    const reader = await until('B lists the phone held by A', async () =>
      (await onB.json<{ agentId: string; reader: string }[]>('GET', '/api/agents/readers')).body.find(
        (c) => c.agentId === info.walletId,
      ),
    );
    return { phone, card, info, reader };
  };
  const revokedAt = async (walletId: string) =>
    (
      await two.sql.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM agents WHERE id = $1', [
        walletId,
      ])
    ).rows[0]?.revoked_at ?? null;

  it("carol's phone on A, terminated through B: A closes its link at once (4001)", async () => {
    const { phone, info, reader } = await phoneOnA('carol');
    const r = await onB.json<{ job: Job }>('POST', '/api/issuance', {
      userId: ids.carol,
      agentId: reader.agentId,
      reader: reader.reader,
      action: 'issue',
      policyId,
      pin: PIN,
      pinConfirmation: PIN,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await until(
      'the issuance ended',
      async () => {
        const j = (await onB.json<Job>('GET', `/api/issuance/jobs/${r.body.job.id}`)).body;
        return j.status === 'succeeded' || j.status === 'failed' ? j : undefined;
      },
      120_000,
    );
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    // Carol's workstation, its relay on B, paired with the phone (on A), which allows it.
    const carol = await portalSession(two.url('b'), onB, 'carol');
    const code = (await carol.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
    const desk = await pairWithCode(two.url('b'), code, { name: 'Desk of carol' });
    const workstation = await relay(two.url('b'), desk.token);
    workstation.send({ type: 'pair' });
    const p = await workstation.next((x) => x.type === 'pairing');
    await until('the phone asked', async () => phone.pairings.at(-1)?.find((x) => x.id === p.id));
    phone.link.decidePairing(String(p.id), true);
    await workstation.next((x) => x.type === 'pairing' && x.state === 'active');
    expect(phone.closes).toEqual([]);

    const t = await onB.json<{ device: { state: string } }>(
      'POST',
      `/api/devices/${job.deviceId}/terminate`,
      {},
    );
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect(t.body.device.state).toBe('terminated');
    // A's heartbeat is 300 s: only the word on the bus closes the link before `until` gives up.
    const closed = await until('A closes the phone link', async () => phone.closes[0]);
    expect(closed.code).toBe(REVOKED);
    expect(await revokedAt(info.walletId)).not.toBeNull();
    const audit = await onB.json<{ items: { details: Record<string, unknown> }[] }>(
      'GET',
      `/api/audit?targetId=${info.walletId}&action=wallet.unlinked`,
    );
    expect(audit.body.items[0]?.details).toMatchObject({ why: 'its device was terminated' });
    // The phone's pairing ended with it: the workstation is told (and its agent would stop).
    expect(await workstation.next((x) => x.type === 'pairing' && x.state === 'revoked')).toMatchObject({
      id: p.id,
      endedBy: 'server',
    });
    workstation.ws.close();
  });

  it("dave's phone reset and back on B with its token while its old link is open on A: A closes the old link", async () => {
    const { phone, info } = await phoneOnA('dave');
    const token = info.token!;
    expect(token).toBeTruthy();
    // Reset on the phone: a blank card (a new serial) presents the link's token, to B.
    const blank = await newWalletCard();
    await expect(phoneLink(two.url('b'), blank, { token }).link.start()).rejects.toThrow(
      /This wallet was reset, so what it held has been ended and its link too/,
    );
    const closed = await until('A closes the old phone link', async () => phone.closes[0]);
    expect(closed.code).toBe(REVOKED);
    expect(await revokedAt(info.walletId)).not.toBeNull();
  });
});
