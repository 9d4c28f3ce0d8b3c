// The wallet's link through the real HTTP API and a real WebSocket, with a Node-side wallet (the
// same card application and link client the phone runs, on WebCrypto): a one-time code links the
// phone as a card in "<person>'s phone"; the person's portal sees it and self-issues it with the
// same PIV personalization as cards; used, wrong, expired and foreign codes are refused with "ask
// for a new one"; nobody else sees the phone; a connection lost mid-personalization leaves the device
// failed, and Retry after the phone reconnects finishes it.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { WebCardCrypto } from '../../src/cards/emulator/web-card-crypto.js';
import { WalletLink, type LinkSocket, type WalletJobStatus } from '../../src/cards/transport/wallet-link.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';

let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
let srv: TestServer;
let admin: ApiClient;
let bobId: string;

type Job = {
  id: string;
  status: string;
  pinChangePending: boolean;
  deviceId: string;
  error: { code: string } | null;
};
type Card = { agentId: string; reader: string; status: string };

beforeAll(async () => {
  srv = await startTestServer({ demo: true, clock });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
  bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
});
afterAll(async () => srv?.close());

async function portal(username: string): Promise<ApiClient> {
  const id = (
    await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
  ).body.items.find((u) => u.username === username)!.id;
  const ip = await admin.json<{ password: string }>('POST', `/api/users/${id}/initial-password`, {});
  const p = new ApiClient(srv.url);
  const res = await fetch(`${srv.url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: ip.body.password }),
  });
  expect(res.status).toBe(200);
  p.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  p.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  return p;
}

async function newWalletCard(): Promise<PivCardApplication> {
  return new PivCardApplication(undefined, {
    crypto: new WebCardCrypto(await WebCardCrypto.newStorageKey()),
  });
}

function wallet(card: PivCardApplication, creds: { code?: string; token?: string }, events: string[] = []) {
  let socket: WebSocket | undefined;
  const statuses: (WalletJobStatus | null)[] = [];
  const link = new WalletLink({
    open: () =>
      (socket = new WebSocket(`${srv.url.replace('http', 'ws')}/api/wallet/ws`)) as unknown as LinkSocket,
    card,
    ...creds,
    onEvent: (e) => {
      events.push(e.type);
      if (e.type === 'status') statuses.push(e.job);
    },
  });
  return { link, events, statuses, socket: () => socket! };
}

async function jobEnd(p: ApiClient, id: string): Promise<Job> {
  return until(
    'the job to end',
    async () => {
      const j = (await p.json<Job>('GET', `/api/portal/issuance/jobs/${id}`)).body;
      return j.status === 'running' ? undefined : j;
    },
    60_000,
  );
}

describe('the wallet link', () => {
  it("links bob's phone with a one-time code; his portal self-issues it like a card", async () => {
    const bob = await portal('bob');
    const made = await bob.json<{
      code: string;
      url: string;
      qrSvg: string;
      readerName: string;
      purpose: string;
      expiresAt: string;
    }>('POST', '/api/wallet/links', {});
    expect(made.status).toBe(201);
    expect(made.body.purpose).toBe('self_issuance');
    expect(made.body.url).toBe(
      `${new URL('/wallet', srv.url).href}#link=${made.body.code}`.replace(srv.url, srv.url),
    );
    expect(made.body.qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const card = await newWalletCard();
    const w = wallet(card, { code: made.body.code });
    const info = await w.link.start();
    expect(info.name).toBe(made.body.readerName);
    expect(info.name).toMatch(/'s phone$/);
    expect(info.token!.length).toBeGreaterThanOrEqual(40);

    const listed = await until('the phone in the portal', async () =>
      (await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.find(
        (c) => c.reader === info.name,
      ),
    );
    expect(listed).toMatchObject({ agentId: info.walletId, status: 'bound' });

    // The same code again: used. The link's secret and the token never reach the audit log.
    await expect(wallet(await newWalletCard(), { code: made.body.code }).link.start()).rejects.toThrow(
      /ask for a new one/,
    );
    const audit = JSON.stringify((await admin.json('GET', '/api/audit?limit=200')).body);
    expect(audit).toContain('wallet.linked');
    expect(audit).not.toContain(made.body.code.split('.')[1]);
    expect(audit).not.toContain(info.token);

    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: info.walletId,
      reader: info.name,
    });
    expect(start.status).toBe(202);
    const done = await jobEnd(bob, start.body.job.id);
    expect(done).toMatchObject({ status: 'succeeded', pinChangePending: true });
    // The phone hears how its issuance stands: none yet, then personalizing, then "choose your PIN".
    expect(w.statuses[0]).toBeNull();
    await until('the phone told the PIN is awaited', async () =>
      w.statuses.at(-1)?.pinChangePending ? true : undefined,
    );
    expect(w.statuses.some((s) => s?.status === 'running' && s.progress > 0)).toBe(true);
    expect(
      (
        await bob.json('POST', `/api/portal/issuance/jobs/${done.id}/pin`, {
          pin: '135790',
          confirmation: '135790',
        })
      ).status,
    ).toBe(200);
    await until('the phone told it is done', async () =>
      w.statuses.at(-1)?.status === 'succeeded' && !w.statuses.at(-1)?.pinChangePending ? true : undefined,
    );
    expect(JSON.stringify(w.statuses)).not.toContain('135790');
    const device = await admin.json<{ state: string; type: string; userId: string; serial: string }>(
      'GET',
      `/api/devices/${done.deviceId}`,
    );
    expect(device.body).toMatchObject({
      state: 'active',
      type: 'mobile',
      userId: bobId,
      serial: String(card.serial),
    });
    // The keys were generated inside the wallet and stay sealed in its storage.
    const keys = card.snapshot().keys;
    expect(Object.keys(keys)).toContain('9a');
    for (const k of Object.values(keys)) expect(k.privateKey).toMatch(/^wjwk1:/);
    w.link.close();
  });

  it('refuses wrong, expired and foreign codes, each with "ask for a new one"', async () => {
    const bob = await portal('bob');
    const code = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const [id, secret] = code.split('.') as [string, string];
    const wrong = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 5; i++)
      await expect(wallet(await newWalletCard(), { code: wrong }).link.start()).rejects.toThrow(
        /ask for a new one/,
      );
    // Five wrong tries: the code is dead even with its right secret.
    await expect(wallet(await newWalletCard(), { code }).link.start()).rejects.toThrow(/ask for a new one/);

    const late = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    offsetMs = 11 * 60_000;
    try {
      await expect(wallet(await newWalletCard(), { code: late }).link.start()).rejects.toThrow(/expired/);
    } finally {
      offsetMs = 0;
    }

    // A phone linked to bob presents a code made for alice: foreign.
    const card = await newWalletCard();
    const first = await wallet(card, {
      code: (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code,
    }).link.start();
    const alice = await portal('alice');
    const aliceCode = (await alice.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    await expect(wallet(card, { code: aliceCode, token: first.token! }).link.start()).rejects.toThrow(
      /ask for a new one/,
    );
    // A first frame that is not a code closes the socket with a reason.
    await expect(wallet(card, { token: 'x'.repeat(43) }).link.start()).rejects.toThrow(/ask for a new link/);
  });

  it("only bob's sessions see bob's phone; an operator's link lets that operator drive it", async () => {
    const bob = await portal('bob');
    const link = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const info = await wallet(await newWalletCard(), { code: link }).link.start();
    await until('the phone listed', async () =>
      (await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.some(
        (c) => c.agentId === info.walletId,
      ),
    );
    const alice = await portal('alice');
    expect(
      (await alice.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.some(
        (c) => c.agentId === info.walletId,
      ),
    ).toBe(false);
    expect(
      (await admin.json<Card[]>('GET', '/api/agents/readers')).body.some((c) => c.agentId === info.walletId),
    ).toBe(false);

    const ivan = await signIn(srv.url, 'ivan.issuer', srv.demoPassword!);
    const op = await ivan.json<{ code: string; purpose: string }>('POST', '/api/wallet/links', {
      userId: bobId,
    });
    expect(op.status).toBe(201);
    expect(op.body.purpose).toBe('operator_issuance');
    const phone = await wallet(await newWalletCard(), { code: op.body.code }).link.start();
    await until('the phone at the issuing operator', async () =>
      (await ivan.json<Card[]>('GET', '/api/agents/readers')).body.some((c) => c.agentId === phone.walletId),
    );
    expect(
      (await admin.json<Card[]>('GET', '/api/agents/readers')).body.some((c) => c.agentId === phone.walletId),
    ).toBe(false);
    // A person cannot make a link for somebody else's phone from the portal: the body is ignored there.
    const self = await bob.json<{ purpose: string }>('POST', '/api/wallet/links', { userId: bobId });
    expect(self.body.purpose).toBe('self_issuance');
  });

  it('a connection lost mid-personalization leaves the device failed; Retry after the phone reconnects finishes it', async () => {
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: true });
    const bob = await portal('bob');
    const code = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const card = await newWalletCard();
    // Drop the phone's connection after the first key is generated on it.
    const w = wallet(card, { code });
    const info = await w.link.start();
    await until('the phone listed', async () =>
      (await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.some(
        (c) => c.agentId === info.walletId,
      ),
    );
    const transmit = card.transmit.bind(card);
    let generated = 0;
    card.transmit = async (apdu) => {
      if (apdu[1] === 0x47 && ++generated === 2) w.socket().terminate();
      return transmit(apdu);
    };
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: info.walletId,
      reader: info.name,
    });
    const failed = await jobEnd(bob, start.body.job.id);
    expect(failed.status).toBe('failed');
    expect((await admin.json<{ state: string }>('GET', `/api/devices/${failed.deviceId}`)).body.state).toBe(
      'failed',
    );
    card.transmit = transmit;

    // The phone comes back with its token: the same wallet, the same reader; Retry completes it.
    const back = await wallet(card, { token: info.token! }).link.start();
    expect(back.walletId).toBe(info.walletId);
    await until('the phone listed again', async () =>
      (await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.some(
        (c) => c.agentId === info.walletId && c.status !== 'empty',
      ),
    );
    const retry = await bob.json<Job>('POST', `/api/portal/issuance/jobs/${failed.id}/retry`, {});
    expect(retry.status).toBe(200);
    const done = await jobEnd(bob, retry.body.id);
    expect(done.status).toBe('succeeded');
  });
});
