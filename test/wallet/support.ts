// A person's phone for wallet tests: a Node-side wallet (the phone's card application on WebCrypto
// and its link client over the `ws` package), and a phone self-issued through the user portal's API
// as docs/mobile.md describes — the starting point of the remote-issuance and lifecycle tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { expect } from 'vitest';
import { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { WebCardCrypto } from '../../src/cards/emulator/web-card-crypto.js';
import {
  WalletLink,
  type LinkSocket,
  type WalletJobStatus,
  type KeyUseRequest,
  type WalletOffer,
  type WalletPairingItem,
  type WalletResult,
} from '../../src/cards/transport/wallet-link.js';
import { ApiClient } from '../support/server.js';
import { until } from '../agent/support.js';
import { runTool } from '../support/card-tools.js';

type Job = { id: string; status: string; pinChangePending: boolean; deviceId: string };

/** Signs `username` in to the user portal with a fresh initial password the admin shows. */
export async function portalSession(url: string, admin: ApiClient, username: string): Promise<ApiClient> {
  const id = (
    await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
  ).body.items.find((u) => u.username === username)!.id;
  const ip = await admin.json<{ password: string }>('POST', `/api/users/${id}/initial-password`, {
    delivery: 'displayed',
  });
  const p = new ApiClient(url);
  const res = await fetch(`${url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: ip.body.password }),
  });
  expect(res.status).toBe(200);
  p.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  p.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  return p;
}

export const newWalletCard = async (): Promise<PivCardApplication> =>
  new PivCardApplication(undefined, { crypto: new WebCardCrypto(await WebCardCrypto.newStorageKey()) });

/** A phone's link to the server at `url`, recording what the server tells the phone. */
export function phoneLink(
  url: string,
  card: PivCardApplication,
  creds: { code?: string; token?: string },
  confirmKeyUse?: (r: KeyUseRequest) => Promise<boolean>,
) {
  const statuses: (WalletJobStatus | null)[] = [];
  const pairings: WalletPairingItem[][] = [];
  const offers: (WalletOffer | null)[] = [];
  const results: WalletResult[] = [];
  const closes: { code: number; reason: string }[] = [];
  const link = new WalletLink({
    open: () => new WebSocket(`${url.replace('http', 'ws')}/api/wallet/ws`) as unknown as LinkSocket,
    card,
    ...creds,
    ...(confirmKeyUse ? { confirmKeyUse } : {}),
    onEvent: (e) => {
      if (e.type === 'pairings') pairings.push(e.items);
      if (e.type === 'status') statuses.push(e.job);
      if (e.type === 'offer') offers.push(e.offer);
      if (e.type === 'result') results.push(e.result);
      if (e.type === 'closed') closes.push({ code: e.code, reason: e.reason });
    },
  });
  return { link, statuses, offers, results, closes, pairings };
}

/** `username`'s phone, self-issued in the user portal (PIN `pin`): its card, device and token. */
export async function selfIssuedPhone(
  url: string,
  admin: ApiClient,
  username: string,
  pin = '135790',
): Promise<{ card: PivCardApplication; deviceId: string; token: string; walletId: string; name: string }> {
  const person = await portalSession(url, admin, username);
  const code = (await person.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
  const card = await newWalletCard();
  const p = phoneLink(url, card, { code });
  const info = await p.link.start();
  await until('the phone in the portal', async () =>
    (await person.json<{ items: { agentId: string }[] }>('GET', '/api/portal/cards')).body.items.some(
      (c) => c.agentId === info.walletId,
    ),
  );
  const start = await person.json<{ job: Job }>('POST', '/api/portal/issuance', {
    agentId: info.walletId,
    reader: info.name,
  });
  const done = await until(
    'the issuance to end',
    async () => {
      const j = (await person.json<Job>('GET', `/api/portal/issuance/jobs/${start.body.job.id}`)).body;
      return j.status === 'running' ? undefined : j;
    },
    60_000,
  );
  expect(done.status).toBe('succeeded');
  await person.json('POST', `/api/portal/issuance/jobs/${done.id}/pin`, { pin, confirmation: pin });
  p.link.close();
  return { card, deviceId: done.deviceId, token: info.token!, walletId: info.walletId, name: info.name };
}

/**
 * What a workstation test signs and checks against, written into `dir`: the phone's 9A certificate
 * (cert9a.pem, read through `api`), its public key (pub9a.pem, by openssl) and data.txt.
 */
export async function phoneKeyFiles(
  api: ApiClient,
  deviceId: string,
  dir: string,
  data: string,
): Promise<void> {
  const certs = await api.json<{ items: { id: string; slot: string | null }[] }>(
    'GET',
    `/api/certificates?deviceId=${deviceId}`,
  );
  const auth = certs.body.items.find((c) => c.slot === '9a')!;
  writeFileSync(
    join(dir, 'cert9a.pem'),
    await (await api.call('GET', `/api/certificates/${auth.id}/pem`)).text(),
  );
  const pub = await runTool('openssl', ['x509', '-in', 'cert9a.pem', '-pubkey', '-noout'], { cwd: dir });
  writeFileSync(join(dir, 'pub9a.pem'), pub.stdout);
  writeFileSync(join(dir, 'data.txt'), data);
}
