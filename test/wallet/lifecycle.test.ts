// A phone's mobile smart card through its lifecycle (docs/mobile.md "Lifecycle"), over the real HTTP
// API and WebSockets with a Node-side wallet: suspend and resume, a certificate revoked, terminate,
// recycle through the wallet's own link (the card application wiped); and a wallet reset on the
// phone, seen by the server at the next connection as a wiped device — terminated with its
// certificates revoked and its link ended, or, when a replacement request names it, left to that
// request — whether the wallet comes back with its token alone or with a new link.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';
import { newWalletCard, phoneLink, portalSession, selfIssuedPhone } from './support.js';

let srv: TestServer;
let admin: ApiClient;
let hannah: ApiClient;
let bobId: string;

type Device = { id: string; state: string; serial: string };
type Cert = { id: string; status: string; slot: string | null };
type AuditEvent = { action: string; targetId: string; details: Record<string, unknown> };

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
  hannah = await signIn(srv.url, 'hannah.help', srv.demoPassword!);
  bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
}, 60_000);
afterAll(async () => srv?.close());

const device = async (id: string) => (await admin.json<Device>('GET', `/api/devices/${id}`)).body;
const certs = async (deviceId: string) =>
  (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;
const statuses = async (deviceId: string) =>
  [...new Set((await certs(deviceId)).map((c) => c.status))].sort();
const auditOf = async (targetId: string, action: string) =>
  (await admin.json<{ items: AuditEvent[] }>('GET', `/api/audit?targetId=${targetId}&action=${action}`)).body
    .items;

describe('a phone through its lifecycle', { timeout: 180_000 }, () => {
  it('suspend and resume, a certificate revoked, terminate, then recycle through its wallet', async () => {
    const phone = await selfIssuedPhone(srv.url, admin, 'bob');
    expect(await statuses(phone.deviceId)).toEqual(['valid']);

    expect(
      (await hannah.json('POST', `/api/devices/${phone.deviceId}/suspend`, { note: 'left at a café' }))
        .status,
    ).toBe(200);
    expect((await device(phone.deviceId)).state).toBe('suspended');
    expect(await statuses(phone.deviceId)).toEqual(['suspended']);
    expect((await hannah.json('POST', `/api/devices/${phone.deviceId}/resume`, {})).status).toBe(200);
    expect((await device(phone.deviceId)).state).toBe('active');
    expect(await statuses(phone.deviceId)).toEqual(['valid']);

    const one = (await certs(phone.deviceId))[0]!;
    expect(
      (await admin.json('POST', `/api/certificates/${one.id}/revoke`, { reason: 'keyCompromise' })).status,
    ).toBe(200);
    expect((await device(phone.deviceId)).state).toBe('active');
    expect((await certs(phone.deviceId)).find((c) => c.id === one.id)!.status).toBe('revoked');

    expect((await admin.json('POST', `/api/devices/${phone.deviceId}/terminate`, {})).status).toBe(200);
    expect((await device(phone.deviceId)).state).toBe('terminated');
    expect(await statuses(phone.deviceId)).toEqual(['revoked']);

    // Terminated, the phone's wallet link ended with it: its token opens nothing.
    await expect(phoneLink(srv.url, phone.card, { token: phone.token }).link.start()).rejects.toThrow(
      /not linked/,
    );
    expect((await auditOf(phone.walletId, 'wallet.unlinked'))[0]!.details).toMatchObject({
      why: 'its device was terminated',
    });

    // Recycling needs the card: an operator's link for bob's phone lets the administrator drive it
    // (the phone is linked afresh), and the wallet's card is wiped to blank.
    const code = (await admin.json<{ code: string }>('POST', '/api/wallet/links', { userId: bobId })).body
      .code;
    const p = phoneLink(srv.url, phone.card, { code, token: phone.token });
    const info = await p.link.start();
    expect(info.walletId).not.toBe(phone.walletId);
    await until('the phone at the administrator', async () =>
      (await admin.json<{ agentId: string; reader: string }[]>('GET', '/api/agents/readers')).body.some(
        (r) => r.agentId === info.walletId,
      ),
    );
    const recycled = await admin.json<Device>('POST', `/api/devices/${phone.deviceId}/recycle`, {
      agentId: info.walletId,
      reader: info.name,
    });
    expect(recycled.status).toBe(200);
    expect(recycled.body.state).toBe('inventory');
    const s = phone.card.snapshot();
    expect(Object.keys(s.keys).filter((k) => k !== 'f9')).toEqual([]);
    expect(Object.keys(s.objects).filter((t) => t.startsWith('5fc1'))).not.toContain('5fc105');
    p.link.close();
  });

  it('a wallet reset is seen at its next connection: the phone terminated, its certificates revoked, its link ended', async () => {
    const phone = await selfIssuedPhone(srv.url, admin, 'bob');
    // Reset on the phone: a blank card with a new serial; the wallet comes back with its token.
    const blank = await newWalletCard();
    expect(blank.serial).not.toBe(phone.card.serial);
    await expect(phoneLink(srv.url, blank, { token: phone.token }).link.start()).rejects.toThrow(
      /This wallet was reset, so what it held has been ended and its link too: ask for a new link/,
    );
    expect((await device(phone.deviceId)).state).toBe('terminated');
    expect(await statuses(phone.deviceId)).toEqual(['revoked']);
    const [wiped] = await auditOf(phone.deviceId, 'device.wiped');
    expect(wiped!.details).toMatchObject({
      serial: String(phone.card.serial),
      state: 'active',
      outcome: 'terminated',
    });
    expect(await auditOf(phone.walletId, 'wallet.unlinked')).toHaveLength(1);
    // The token is dead; the old card's own return cannot bring it back either.
    await expect(phoneLink(srv.url, phone.card, { token: phone.token }).link.start()).rejects.toThrow(
      /not linked/,
    );
    // Reset, the phone may be linked to another person.
    const alice = await portalSession(srv.url, admin, 'alice');
    const code = (await alice.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const moved = await phoneLink(srv.url, blank, { code }).link.start();
    expect(moved.name).toMatch(/Alice/);
  });

  it('reset and a new link at once: the old card ended the same way; a phone a replacement names is left to it', async () => {
    // The reset reported together with a new link (the wallet was offline when it was reset).
    const first = await selfIssuedPhone(srv.url, admin, 'bob');
    const bob = await portalSession(srv.url, admin, 'bob');
    const code = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const relinked = await phoneLink(srv.url, await newWalletCard(), {
      code,
      token: first.token,
    }).link.start();
    expect(relinked.walletId).not.toBe(first.walletId);
    expect((await device(first.deviceId)).state).toBe('terminated');

    // A phone already being replaced (invalid) stays with its request, which decides its end.
    const second = await selfIssuedPhone(srv.url, admin, 'bob');
    const request = await hannah.json<{ id: string }>('POST', `/api/devices/${second.deviceId}/replacement`, {
      reason: 'damaged',
      workflow: 'remote_issuance',
    });
    expect(request.status).toBe(201);
    await expect(
      phoneLink(srv.url, await newWalletCard(), { token: second.token }).link.start(),
    ).rejects.toThrow(/was reset/);
    expect((await device(second.deviceId)).state).toBe('invalid');
    expect(await statuses(second.deviceId)).toEqual(['suspended']);
    const [wiped] = await auditOf(second.deviceId, 'device.wiped');
    expect(wiped!.details).toMatchObject({ state: 'invalid', outcome: 'left to its replacement request' });
  });
});
