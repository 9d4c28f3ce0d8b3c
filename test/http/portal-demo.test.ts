// The demo hand-over (issue 6's "Done when" right after `npm start`): an operator binds a demo card
// sitting in the administrator's demo reader to bob; bob signs in to the user portal, has the card
// handed to a demo agent of his own, sees it bound to him, and self-issues it through the real
// agent path. The card leaves the administrator's reader (one card, one reader). Refused on a
// server without demo agents and for a person with nothing bound; a second hand-over moves nothing.
// The card keeps its reader's name: from the administrator's Reader 2 into bob's Reader 2 (issue 19
// item 3: it showed in a "Reader 1" of bob's the help desk never used).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { demoReaderName } from '../../src/services/demo-agent.js';
import { until } from '../agent/support.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';

type Job = { id: string; status: string; progress: number; pinChangePending: boolean; deviceId: string };
type Card = {
  agentId: string;
  agentName: string;
  reader: string;
  serial: string | null;
  status: string;
  device: { id: string; state: string; userId: string | null } | null;
};
type DemoView = {
  available: boolean;
  agent: { id: string; name: string; readers: { reader: string; serial: string | null }[] } | null;
  cards: {
    serial: string;
    deviceId: string;
    state: string;
    inMyReader: boolean;
    reader: string;
    agentName: string;
  }[];
  moved?: string[];
};
type ErrorReply = { error: { code: string; message: string } };

let srv: TestServer;
let admin: ApiClient;
let policyId: string;

async function userId(username: string): Promise<string> {
  const r = await admin.json<{ items: { id: string; username: string }[] }>(
    'GET',
    `/api/users?q=${username}`,
  );
  return r.body.items.find((u) => u.username === username)!.id;
}

/** A user-portal session, signed in with an initial password an operator issued. */
async function portalSession(server: TestServer, operator: ApiClient, username: string): Promise<ApiClient> {
  const id = (
    await operator.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
  ).body.items.find((u) => u.username === username)!.id;
  const ip = await operator.json<{ password: string }>('POST', `/api/users/${id}/initial-password`, {});
  expect(ip.status).toBe(201);
  const res = await fetch(`${server.url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: ip.body.password }),
  });
  expect(res.status).toBe(200);
  const p = new ApiClient(server.url);
  p.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  p.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  return p;
}

beforeAll(async () => {
  srv = await startTestServer({ demo: true, demoAgents: true });
  admin = new ApiClient(srv.url);
  await admin.login(srv.admin.username, srv.admin.password);
  policyId = (
    await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
  ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!.id;
});
afterAll(async () => srv?.close());

describe('demo hand-over in the user portal', () => {
  it('hands bob the card bound to him, which he then self-issues through his own demo agent', async () => {
    const bobId = await userId('bob');
    // The operator binds the card in the administrator's second demo reader to bob.
    const adminCards = await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards');
    const card = adminCards.body.items.find((c) => c.reader === demoReaderName(1))!;
    expect(card).toMatchObject({ serial: '10000002', status: 'blank' });
    const bind = await admin.json('POST', '/api/issuance', {
      userId: bobId,
      agentId: card.agentId,
      reader: card.reader,
      action: 'bind',
      policyId,
    });
    expect(bind.status).toBe(202);

    const bob = await portalSession(srv, admin, 'bob');
    // Before: bob has no agent, so no card to issue; the portal learns the hand-over is offered.
    expect((await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items).toEqual([]);
    const offered = await bob.json<DemoView>('GET', '/api/portal/demo/reader');
    expect(offered.status).toBe(200);
    expect(offered.body).toMatchObject({
      available: true,
      agent: null,
      // Where the help desk left it: the portal can say so.
      cards: [
        {
          serial: '10000002',
          state: 'bound',
          inMyReader: false,
          reader: demoReaderName(1),
          agentName: 'Demo agent (admin)',
        },
      ],
    });

    const handed = await bob.json<DemoView>('POST', '/api/portal/demo/reader');
    expect(handed.status).toBe(200);
    expect(handed.body).toMatchObject({
      available: true,
      moved: ['10000002'],
      // The reader it came from, by name: bob's agent has no "Reader 1" the card never sat in.
      agent: { name: 'Demo agent (bob)', readers: [{ reader: demoReaderName(1), serial: '10000002' }] },
      cards: [
        {
          serial: '10000002',
          state: 'bound',
          inMyReader: true,
          reader: demoReaderName(1),
          agentName: 'Demo agent (bob)',
        },
      ],
    });
    const agentId = handed.body.agent!.id;
    // bob's agent is his (a portal agent), listed on his Agents page.
    const agents = await bob.json<{
      items: { id: string; ownerKind: string; demo: boolean; connected: boolean }[];
    }>('GET', '/api/agents');
    expect(agents.body.items).toEqual([
      expect.objectContaining({ id: agentId, ownerKind: 'portal', demo: true, connected: true }),
    ]);

    // The portal's card list now shows the card in bob's reader, bound to him…
    const mine = await bob.json<{ items: Card[] }>('GET', '/api/portal/cards');
    expect(mine.body.items).toEqual([
      expect.objectContaining({
        agentId,
        reader: demoReaderName(1),
        serial: '10000002',
        status: 'bound',
        device: expect.objectContaining({ userId: bobId, state: 'bound' }),
      }),
    ]);
    // …and it has left the administrator's reader.
    const after = await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards');
    expect(after.body.items.map((c) => c.serial)).not.toContain('10000002');
    expect(after.body.items.find((c) => c.reader === demoReaderName(1))).toMatchObject({
      agentId: card.agentId,
      cardPresent: false,
      status: 'empty',
    });

    // A second hand-over is harmless: same agent, nothing moved, nothing audited.
    const again = await bob.json<DemoView>('POST', '/api/portal/demo/reader');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ moved: [], agent: { id: agentId }, cards: [{ inMyReader: true }] });
    const audit = await admin.json<{ items: { actorName: string; targetId: string; details: unknown }[] }>(
      'GET',
      '/api/audit?action=demo.cards_handed_over',
    );
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actorName: 'bob',
      targetId: bobId,
      details: {
        agentId,
        cards: [
          {
            serial: '10000002',
            fromAgentId: card.agentId,
            fromReader: demoReaderName(1),
            toReader: demoReaderName(1),
          },
        ],
      },
    });

    // Self-issuance, every APDU through bob's demo agent.
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId,
      reader: demoReaderName(1),
    });
    expect(start.status).toBe(202);
    const done = await until(
      'the issuance to end',
      async () => {
        const j = (await bob.json<Job>('GET', `/api/portal/issuance/jobs/${start.body.job.id}`)).body;
        return j.status === 'running' ? undefined : j;
      },
      60_000,
    );
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, pinChangePending: true });
    const pin = await bob.json<Job>('POST', `/api/portal/issuance/jobs/${done.id}/pin`, {
      pin: '246813',
      confirmation: '246813',
    });
    expect(pin.status).toBe(200);
    expect(pin.body.pinChangePending).toBe(false);
    const device = await admin.json<{ state: string; userId: string; serial: string }>(
      'GET',
      `/api/devices/${done.deviceId}`,
    );
    expect(device.body).toMatchObject({ state: 'active', userId: bobId, serial: '10000002' });
    // The card itself, in bob's demo reader, takes the new PIN and holds its certificate.
    const bobAgent = srv.rt.demoAgents!.of('bob')!;
    const s = await PivSession.open(await bobAgent.readers.connect(demoReaderName(1)));
    await s.verifyPin('246813');
    expect(await s.getCertificate(0x9a)).toBeDefined();

    // A second card from ivan's Reader 2: bob's Reader 2 holds the first, so the new reader says
    // whose Reader 2 it came from.
    const ivan = new ApiClient(srv.url);
    await ivan.login('ivan.issuer', srv.demoPassword!);
    const ivanCard = (await ivan.json<{ items: Card[] }>('GET', '/api/issuance/cards')).body.items.find(
      (c) => c.reader === demoReaderName(1),
    )!;
    expect(ivanCard).toMatchObject({ serial: '10000005', status: 'blank' });
    const bind2 = await ivan.json('POST', '/api/issuance', {
      userId: bobId,
      agentId: ivanCard.agentId,
      reader: ivanCard.reader,
      action: 'bind',
      policyId,
    });
    expect(bind2.status).toBe(202);
    const second = await bob.json<DemoView>('POST', '/api/portal/demo/reader');
    expect(second.status).toBe(200);
    expect(second.body.moved).toEqual(['10000005']);
    expect(second.body.agent!.readers).toEqual([
      { reader: demoReaderName(1), serial: '10000002' },
      { reader: `${demoReaderName(1)} (from ivan.issuer)`, serial: '10000005' },
    ]);
  }, 120_000);

  it('two hand-overs at once start one agent and move the card once', async () => {
    const carolId = await userId('carol');
    const card = (await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards')).body.items.find(
      (c) => c.serial === '10000003',
    )!;
    await admin.json('POST', '/api/issuance', {
      userId: carolId,
      agentId: card.agentId,
      reader: card.reader,
      action: 'bind',
      policyId,
    });
    const carol = await portalSession(srv, admin, 'carol');
    const [a, b] = await Promise.all([
      carol.json<DemoView>('POST', '/api/portal/demo/reader'),
      carol.json<DemoView>('POST', '/api/portal/demo/reader'),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.agent!.id).toBe(b.body.agent!.id);
    expect([...a.body.moved!, ...b.body.moved!]).toEqual(['10000003']);
    const agents = await carol.json<{ items: unknown[] }>('GET', '/api/agents');
    expect(agents.body.items).toHaveLength(1);
    // One running agent in memory too (a second client for the same pairing would go unseen above).
    expect(srv.rt.demoAgents!.agents.filter((x) => x.ownerUsername === 'carol')).toHaveLength(1);
  });

  it('says so when nothing is bound to the person', async () => {
    const alice = await portalSession(srv, admin, 'alice');
    expect((await alice.json<DemoView>('GET', '/api/portal/demo/reader')).body).toEqual({
      available: true,
      agent: null,
      cards: [],
    });
    const r = await alice.json<ErrorReply>('POST', '/api/portal/demo/reader');
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('no_demo_card');
    expect(r.body.error.message).toMatch(/No card is bound to you yet: ask your help desk/);
    // No agent was started for her.
    expect((await alice.json<{ items: unknown[] }>('GET', '/api/agents')).body.items).toEqual([]);
  });

  it('is a user-portal route: an operator session is refused', async () => {
    expect((await admin.json('POST', '/api/portal/demo/reader')).status).toBe(403);
  });
});

describe('demo hand-over on a server without demo agents (tessera serve)', () => {
  let plain: TestServer;
  let op: ApiClient;
  beforeAll(async () => {
    plain = await startTestServer({ demo: true });
    op = new ApiClient(plain.url);
    await op.login(plain.admin.username, plain.admin.password);
  });
  afterAll(async () => plain?.close());

  it('is not offered, and refused with demo_unavailable', async () => {
    const bob = await portalSession(plain, op, 'bob');
    expect((await bob.json<DemoView>('GET', '/api/portal/demo/reader')).body).toEqual({
      available: false,
      agent: null,
      cards: [],
    });
    const r = await bob.json<ErrorReply>('POST', '/api/portal/demo/reader');
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('demo_unavailable');
    expect(r.body.error.message).toMatch(/only `tessera start` does/);
  });
});
