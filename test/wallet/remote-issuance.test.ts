// Remote issuance (reference 003, "Remote Issuance Workflow (Mobile Smart Cards only)") through the
// real HTTP API, real WebSockets, a Node-side wallet (the phone's card application and link client)
// and openssl against the server's OCSP responder: bob's phone, issued to him, is lost; the help desk
// requests a remote-issuance replacement (the old phone's certificates on hold at once), gives out a
// one-time link (shown, or e-mailed over real SMTP); bob's new phone opens it, is offered "new
// credentials", accepts, is personalized with the same PIV code, and bob chooses his PIN on the
// phone; the request completes: the old phone terminated, its certificates revoked (keyCompromise),
// the new one active with certificates that verify and that OCSP says are good.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { newWalletCard as supportNewWalletCard, phoneLink, selfIssuedPhone } from './support.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { signIn, until } from '../agent/support.js';
import { OpensslDir, hasOpenssl, ocspStatuses } from '../pki/openssl.js';

const SMTP_USER = 'tessera';
const SMTP_PASS = 'smtp-secret-1';
let srv: TestServer;
let smtp: TestSmtp;
let admin: ApiClient;
let hannah: ApiClient;
let bobId: string;
const ssl = new OpensslDir();

type Cert = { id: string; caId: string; status: string; slot: string | null };

beforeAll(async () => {
  smtp = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS });
  srv = await startTestServer({
    demo: true,
    config: { smtpUrl: smtp.url, smtpCaFile: smtp.caFile! },
  });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
  hannah = await signIn(srv.url, 'hannah.help', srv.demoPassword!);
  bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
}, 60_000);
afterAll(async () => {
  await srv?.close();
  await smtp?.close();
});

const newWalletCard = supportNewWalletCard;
const phone = (card: PivCardApplication, creds: { code?: string; token?: string }) =>
  phoneLink(srv.url, card, creds);
const bobsFirstPhone = () => selfIssuedPhone(srv.url, admin, 'bob');

/** What the server's OCSP responder says of each certificate, asked with openssl. */
const ocsp = (certs: Cert[]) =>
  ocspStatuses(ssl, srv.url, certs, async (id) =>
    (await admin.call('GET', `/api/certificates/${id}/pem`)).text(),
  );

const certsOf = async (deviceId: string) =>
  (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;

describe.skipIf(!hasOpenssl)('remote issuance to a phone', { timeout: 180_000 }, () => {
  it("bob's lost phone: help desk's request and link, the new phone offered, personalized, PIN chosen on it; old revoked", async () => {
    const first = await bobsFirstPhone();
    const oldCerts = await certsOf(first.deviceId);
    expect(oldCerts.length).toBeGreaterThanOrEqual(2);

    // A card cannot be replaced remotely; the phone can.
    const made = await hannah.json<{ id: string; number: number; state: string; waitingFor: string }>(
      'POST',
      `/api/devices/${first.deviceId}/replacement`,
      { reason: 'lost', workflow: 'remote_issuance' },
    );
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ state: 'approved', waitingFor: 'phone_enrolment' });
    expect(new Set(await ocsp(oldCerts))).toEqual(new Set(['revoked (certificateHold)']));
    // Neither officer route issues it: it waits for the phone.
    const requestId = made.body.id;

    // The help desk shows a link (QR code); a second one makes the first expire.
    const firstLink = await hannah.json<{ code: string }>('POST', `/api/requests/${requestId}/wallet-link`, {
      delivery: 'show',
    });
    expect(firstLink.status).toBe(201);
    const shown = await hannah.json<{ code: string; url: string; qrSvg: string; purpose: string }>(
      'POST',
      `/api/requests/${requestId}/wallet-link`,
      { delivery: 'show' },
    );
    expect(shown.body.purpose).toBe('remote_issuance');
    expect(shown.body.url).toContain('/wallet#link=');
    expect(shown.body.qrSvg).toMatch(/^<svg/);
    await expect(phone(await newWalletCard(), { code: firstLink.body.code }).link.start()).rejects.toThrow(
      /ask for a new one/,
    );
    // The phone being replaced cannot take its own replacement (and the code is not used up by it).
    await expect(
      phone(first.card, { code: shown.body.code, token: first.token }).link.start(),
    ).rejects.toThrow(/holds the smart card being replaced: reset this wallet/);

    // Bob's new phone opens the link: "new credentials are ready for you".
    const card = await newWalletCard();
    const p = phone(card, { code: shown.body.code });
    const info = await p.link.start();
    expect(info.purpose).toBe('remote_issuance');
    const offer = await until('the offer', async () => p.offers.at(-1) ?? undefined);
    expect(offer).toMatchObject({
      requestId,
      number: made.body.number,
      reason: 'lost',
      replaces: { serial: String(first.card.serial), type: 'mobile' },
    });

    // A wrong request id is refused; then bob accepts, and the phone is personalized.
    p.link.enrol('00000000-0000-4000-8000-000000000000');
    await until('the refusal', async () => (p.results.some((r) => !r.ok) ? true : undefined));
    p.link.enrol(requestId);
    const asked = await until(
      'the PIN asked on the phone',
      async () => {
        const s = p.statuses.at(-1);
        return s?.status === 'succeeded' && s.pinChangePending ? s : undefined;
      },
      90_000,
    );
    expect(asked.onPhone).toBe(true);
    expect(p.statuses.some((s) => s?.status === 'running')).toBe(true);
    expect(p.offers.at(-1)).toBeNull();
    // The PIN policy is the server's: a weak PIN is refused with the reason, then a good one set.
    p.link.choosePin(asked.id, '123456', '123456');
    await until('the weak PIN refused', async () =>
      p.results.some((r) => r.of === 'wallet-pin' && !r.ok) ? true : undefined,
    );
    expect(p.results.find((r) => r.of === 'wallet-pin')!.message).toMatch(/PIN/);
    p.link.choosePin(asked.id, '281739', '281739');
    await until('done on the phone', async () => {
      const s = p.statuses.at(-1);
      return s?.status === 'succeeded' && !s.pinChangePending ? true : undefined;
    });

    // The request completed: the old phone terminated, its certificates revoked as compromised.
    const request = (
      await hannah.json<{ state: string; replacementDeviceId: string }>('GET', `/api/requests/${requestId}`)
    ).body;
    expect(request.state).toBe('completed');
    const oldDevice = (await admin.json<{ state: string }>('GET', `/api/devices/${first.deviceId}`)).body;
    expect(oldDevice.state).toBe('terminated');
    expect(new Set(await ocsp(oldCerts))).toEqual(new Set(['revoked (keyCompromise)']));
    // The lost phone's wallet link ended with its device: whoever holds it cannot connect as bob's.
    await expect(phone(first.card, { token: first.token }).link.start()).rejects.toThrow(/not linked/);
    const newDevice = (
      await admin.json<{ id: string; state: string; type: string; serial: string; userId: string }>(
        'GET',
        `/api/devices/${request.replacementDeviceId}`,
      )
    ).body;
    expect(newDevice).toMatchObject({
      state: 'active',
      type: 'mobile',
      serial: String(card.serial),
      userId: bobId,
    });
    const newCerts = await certsOf(newDevice.id);
    expect(new Set(await ocsp(newCerts))).toEqual(new Set(['good']));
    // The PIN bob chose opens the new phone's card; nothing secret reached the audit log.
    expect(card.snapshot().pinCounter.remaining).toBeGreaterThan(0);
    const audit = JSON.stringify((await admin.json('GET', '/api/audit?limit=400')).body);
    expect(audit).not.toContain('281739');
    expect(audit).not.toContain(shown.body.code.split('.')[1]);
    p.link.close();
  });

  it('a connection lost mid-enrolment fails the set-up; Try again on the phone, once it is back, finishes it', async () => {
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: true });
    const first = await bobsFirstPhone();
    const made = await hannah.json<{ id: string }>('POST', `/api/devices/${first.deviceId}/replacement`, {
      reason: 'stolen',
      workflow: 'remote_issuance',
    });
    const code = (
      await hannah.json<{ code: string }>('POST', `/api/requests/${made.body.id}/wallet-link`, {
        delivery: 'show',
      })
    ).body.code;
    const card = await newWalletCard();
    const p = phone(card, { code });
    const info = await p.link.start();
    await until('the offer', async () => p.offers.at(-1) ?? undefined);
    // The phone drops off after its second key is generated.
    const transmit = card.transmit.bind(card);
    let generated = 0;
    card.transmit = async (apdu) => {
      if (apdu[1] === 0x47 && ++generated === 2) p.link.close();
      return transmit(apdu);
    };
    p.link.enrol(made.body.id);
    await until('the link closed', async () => (p.closes.length ? true : undefined));
    card.transmit = transmit;

    const back = phone(card, { token: info.token! });
    await back.link.start();
    const failed = await until(
      'the failed set-up told to the phone',
      async () => {
        const s = back.statuses.at(-1);
        return s?.status === 'failed' ? s : undefined;
      },
      60_000,
    );
    expect(failed.onPhone).toBe(true);
    expect(back.offers.at(-1)).toBeNull();
    back.link.retry(failed.id);
    const asked = await until(
      'the PIN asked after the retry',
      async () => {
        const s = back.statuses.at(-1);
        return s?.status === 'succeeded' && s.pinChangePending ? s : undefined;
      },
      90_000,
    );
    back.link.choosePin(asked.id, '281739', '281739');
    await until('the request completed', async () =>
      (await hannah.json<{ state: string }>('GET', `/api/requests/${made.body.id}`)).body.state ===
      'completed'
        ? true
        : undefined,
    );
    expect((await admin.json<{ state: string }>('GET', `/api/devices/${first.deviceId}`)).body.state).toBe(
      'terminated',
    );
    back.link.close();
  });

  it('e-mails the link to the person; a cancelled request is no longer offered', async () => {
    const first = await bobsFirstPhone();
    const made = await hannah.json<{ id: string; number: number }>(
      'POST',
      `/api/devices/${first.deviceId}/replacement`,
      { reason: 'damaged', workflow: 'remote_issuance' },
    );
    const seen = smtp.received.length;
    const sent = await hannah.json<{ sentTo: string; code?: string }>(
      'POST',
      `/api/requests/${made.body.id}/wallet-link`,
      { delivery: 'email' },
    );
    expect(sent.status).toBe(200);
    expect(sent.body.sentTo).toBe('bob@demo.example');
    expect(sent.body.code).toBeUndefined();
    const mail = await smtp.next(seen);
    expect(mail.rcptTo).toEqual(['bob@demo.example']);
    const url = /(http\S+\/wallet#link=\S+)/.exec(mail.text)?.[1];
    expect(url).toBeDefined();
    const code = url!.split('#link=')[1]!;

    const p = phone(await newWalletCard(), { code });
    await p.link.start();
    await until('the offer', async () => p.offers.at(-1) ?? undefined);
    expect(
      (await hannah.json('POST', `/api/requests/${made.body.id}/cancel`, { note: 'found it' })).status,
    ).toBe(200);
    p.link.enrol(made.body.id);
    const r = await until('the refusal', async () => p.results.find((x) => x.of === 'wallet-enrol'));
    expect(r).toMatchObject({ ok: false });
    expect(r.message).toMatch(/cancelled/);
    // A request that is not a remote issuance gets no link.
    const local = await hannah.json<{ id: string }>('POST', `/api/devices/${first.deviceId}/replacement`, {
      reason: 'damaged',
      workflow: 'local_issuance',
    });
    const refused = await hannah.json<{ error: { message: string } }>(
      'POST',
      `/api/requests/${local.body.id}/wallet-link`,
      { delivery: 'show' },
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/not a remote issuance/);
    p.link.close();
  });
});
