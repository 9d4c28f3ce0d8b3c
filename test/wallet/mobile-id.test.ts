// Get mobile ID (reference 004) through the real HTTP API, real WebSockets, a Node-side wallet (the
// phone's card application and link client), a real SMTP server on loopback and openssl against the
// server's OCSP responder:
// - alice orders in the portal, gets the QR code's link, her phone opens it, the policy's two
//   certificates are issued onto it (capped at the mobile ID's validity, the policy's properties in
//   their subject), she chooses the PIN on the phone: the mobile ID is active, its certificates
//   valid in Tessera, verified by openssl and good by OCSP; she is notified once by e-mail;
// - carol's policy e-mails the QR code: the test reads the message (inline PNG and link) from the
//   SMTP server and opens the link in the wallet;
// - cancel while waiting for the phone voids the code; cancel after the phone failed leaves no
//   valid certificate (the failure notified once under notify "both"), and the half-made phone is
//   wiped back to blank at its next connection; a used or expired code is
//   refused; a suspended person cannot order;
// - the mail server is down while alice orders: the flow completes, and the notification arrives
//   when the server is back, exactly once;
// - the operator sees the mobile IDs on the User page's API and suspends, resumes, revokes and
//   terminates them;
// - the policy's property "server" is in the certificates' subject (pki.subjectTemplate), read by
//   openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, freePort, type ApiClient, type TestServer } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession } from './support.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { signIn, until } from '../agent/support.js';
import { OpensslDir, hasOpenssl, ocspStatuses } from '../pki/openssl.js';

type View = {
  id: string;
  state: string;
  validUntil: string | null;
  properties: Record<string, string>;
  device: { id: string; serial: string; state: string } | null;
  job: { id: string; status: string; pinChangePending: boolean } | null;
  certificates: { id: string; serial: string; profile: string; status: string; notAfter: string }[];
  mail: { id: string; status: string } | null;
  error: string | null;
};
type Ordered = {
  mobileId: View;
  qr: { url: string; svg: string; expiresAt: string } | null;
  sentTo: string | null;
};
type Err = { error: { code: string; message: string } };
type Cert = { id: string; caId: string; status: string; subject: string };

const SMTP_USER = 'tessera';
const SMTP_PASS = 'smtp-secret-2';
let srv: TestServer;
let smtp: TestSmtp | null;
let smtpPort: number;
let admin: ApiClient;
let policyId: string;
const ssl = new OpensslDir();

beforeAll(async () => {
  smtpPort = await freePort();
  smtp = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS, port: smtpPort, plain: true });
  srv = await startTestServer({
    demo: true,
    config: {
      smtpUrl: `${smtp.url}?tls=none`,
      mailRetrySeconds: 1,
      // The mobile ID policy's property "server" reaches the certificates' subject through here.
      pki: {
        subjectTemplate: [
          { type: 'CN', value: '${displayName}' },
          { type: 'UID', value: '${username}' },
          { type: 'OU', value: '${properties.server}' },
        ],
      },
    },
  });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
  const mobile = (
    await admin.json<{ items: { id: string; deviceTypes: string[] }[] }>('GET', '/api/policies')
  ).body.items.find((p) => p.deviceTypes.includes('mobile'))!;
  // The demo's mobile ID policy (seeded with the demo people), set as this test wants it.
  const demo = (
    await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/mobile-id-policies')
  ).body.items.find((x) => x.name === 'Mobile ID (demo)')!;
  const p = await admin.json<{ id: string }>('PUT', `/api/mobile-id-policies/${demo.id}`, {
    name: 'Mobile ID (demo)',
    description: '',
    devicePolicyId: mobile.id,
    profiles: ['PIV Authentication', 'Digital Signature'],
    qrDelivery: 'portal',
    validityDays: 30,
    properties: [{ name: 'server', value: '${server}' }],
    recoverKey: false,
    notify: 'both',
    enabled: true,
  });
  expect(p.status).toBe(200);
  policyId = p.body.id;
}, 120_000);
afterAll(async () => {
  await srv?.close();
  await smtp?.close();
});

const codeOf = (url: string) => decodeURIComponent(url.split('#link=')[1]!);

async function view(person: ApiClient, id: string): Promise<View> {
  const r = await person.json<View>('GET', `/api/portal/mobile-id/${id}`);
  expect(r.status).toBe(200);
  return r.body;
}

/** The phone opens the link; the wallet is issued; the PIN is chosen on the phone. */
async function onPhone(person: ApiClient, id: string, code: string, pin = '246810') {
  const card = await newWalletCard();
  const phone = phoneLink(srv.url, card, { code });
  await phone.link.start();
  const done = await until(
    'the mobile ID to be created',
    async () => {
      const v = await view(person, id);
      return v.state === 'issuing' || v.state === 'awaiting_wallet' ? undefined : v;
    },
    90_000,
  );
  expect(done.state, done.error ?? '').toBe('active');
  // The wallet was told the job runs on the phone and asks for the PIN there.
  expect(phone.statuses.some((s) => s?.onPhone === true)).toBe(true);
  phone.link.choosePin(done.job!.id, pin, pin);
  await until('the PIN to be set', async () => phone.results.find((r) => r.of === 'wallet-pin'));
  expect(phone.results.find((r) => r.of === 'wallet-pin')!.ok).toBe(true);
  return { phone, card, view: done };
}

const ocsp = (certs: Cert[]) =>
  ocspStatuses(ssl, srv.url, certs, async (id) =>
    (await admin.call('GET', `/api/certificates/${id}/pem`)).text(),
  );

const certsOf = async (deviceId: string) =>
  (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;

const userId = async (username: string) =>
  (
    await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
  ).body.items.find((u) => u.username === username)!.id;

describe.skipIf(!hasOpenssl)('get mobile ID', { timeout: 240_000 }, () => {
  it('alice by QR in the portal: active, two valid certificates capped at its validity, openssl and OCSP good, notified once', async () => {
    const alice = await portalSession(srv.url, admin, 'alice');
    const before = await alice.json<{ canOrder: boolean; delivery: string; items: View[] }>(
      'GET',
      '/api/portal/mobile-id',
    );
    expect(before.body).toMatchObject({ canOrder: true, delivery: 'portal', items: [] });
    const seen = smtp!.received.length;
    const r = await alice.json<Ordered>('POST', '/api/portal/mobile-id', {});
    expect(r.status).toBe(201);
    expect(r.body.mobileId.state).toBe('awaiting_wallet');
    expect(r.body.sentTo).toBeNull();
    expect(r.body.qr!.url).toMatch(/\/wallet#link=/);
    expect(r.body.qr!.svg).toMatch(/^<svg/);
    // One order at a time.
    const again = await alice.json<Err>('POST', '/api/portal/mobile-id', {});
    expect(again.status).toBe(409);
    const { view: v } = await onPhone(alice, r.body.mobileId.id, codeOf(r.body.qr!.url));
    expect(v.certificates.map((c) => c.profile).sort()).toEqual(['digital_signature', 'piv_authentication']);
    expect(v.certificates.every((c) => c.status === 'valid')).toBe(true);
    expect(v.device!.state).toBe('active');
    expect(v.properties).toEqual({ server: srv.url });
    // Certificates never outlive the mobile ID.
    for (const c of v.certificates)
      expect(new Date(c.notAfter).getTime()).toBeLessThanOrEqual(new Date(v.validUntil!).getTime());
    const certs = await certsOf(v.device!.id);
    expect(await ocsp(certs)).toEqual(['good', 'good']);
    // The policy's property, rendered for alice, is in each certificate's subject (as openssl reads it).
    for (const c of certs) {
      const pem = ssl.file(
        `${c.id}.pem`,
        await (await admin.call('GET', `/api/certificates/${c.id}/pem`)).text(),
      );
      const subject = ssl.runOk(['x509', '-in', pem, '-noout', '-subject', '-nameopt', 'RFC2253']);
      expect(subject.trim().startsWith(`subject=OU=${srv.url},UID=alice,CN=`), subject).toBe(true);
    }
    // Notified of the success, once.
    const mail = await smtp!.next(seen);
    expect(mail.rcptTo).toEqual([await emailOf('alice')]);
    expect(mail.headers.get('subject')).toBe('Your mobile ID is active');
    expect(mail.text).toMatch(/holds 2 certificates/);
    // Visible under "Mobile ID" (the portal's list) and to the operator.
    const list = await alice.json<{ canOrder: boolean; items: View[] }>('GET', '/api/portal/mobile-id');
    expect(list.body.items.map((m) => m.state)).toEqual(['active']);
    const op = await admin.json<{ items: View[] }>('GET', `/api/users/${await userId('alice')}/mobile-ids`);
    expect(op.body.items[0]!.certificates).toHaveLength(2);
    // A used code is refused.
    const reuse = phoneLink(srv.url, await newWalletCard(), { code: codeOf(r.body.qr!.url) });
    await expect(reuse.link.start()).rejects.toThrow(/unknown, used, expired/);
    // The operator suspends (OCSP: on hold), resumes (good), revokes (keyCompromise).
    const s = await admin.json<View>('POST', `/api/mobile-ids/${v.id}/suspend`, {});
    expect(s.body.state).toBe('suspended');
    expect(await ocsp(certs)).toEqual(['revoked (certificateHold)', 'revoked (certificateHold)']);
    expect((await admin.json<View>('POST', `/api/mobile-ids/${v.id}/resume`, {})).body.state).toBe('active');
    expect(await ocsp(certs)).toEqual(['good', 'good']);
    const rv = await admin.json<View>('POST', `/api/mobile-ids/${v.id}/revoke`, { reason: 'keyCompromise' });
    expect(rv.body.state).toBe('revoked');
    expect(rv.body.device!.state).toBe('terminated');
    expect(await ocsp(certs)).toEqual(['revoked (keyCompromise)', 'revoked (keyCompromise)']);
    const bad = await admin.json<Err>('POST', `/api/mobile-ids/${v.id}/suspend`, {});
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('illegal_transition');
  });

  it('carol by e-mail: the QR image and link read from the SMTP server, opened in the wallet', async () => {
    const put = await admin.json('PUT', `/api/mobile-id-policies/${policyId}`, {
      name: 'Mobile ID (demo)',
      description: '',
      devicePolicyId: (
        await admin.json<{ devicePolicyId: string }>('GET', `/api/mobile-id-policies/${policyId}`)
      ).body.devicePolicyId,
      profiles: ['PIV Authentication'],
      qrDelivery: 'email',
      validityDays: 30,
      properties: [],
      recoverKey: false,
      notify: 'none',
      enabled: true,
    });
    expect(put.status).toBe(200);
    const carol = await portalSession(srv.url, admin, 'carol');
    const seen = smtp!.received.length;
    const r = await carol.json<Ordered>('POST', '/api/portal/mobile-id', {});
    expect(r.status).toBe(201);
    expect(r.body.qr).toBeNull();
    expect(r.body.sentTo).toMatch(/@/);
    const mail = await smtp!.next(seen);
    expect(mail.headers.get('subject')).toBe('Your mobile ID: open this link on your phone');
    expect(mail.raw).toMatch(/Content-Type: image\/png/i);
    expect(mail.html).toContain('cid:mobile-id-qr');
    const url = /(http\S+\/wallet#link=\S+)/.exec(mail.text)![1]!;
    // The code is in the message, never in the API's answer or the outbox's list.
    expect(JSON.stringify(r.body)).not.toContain(codeOf(url));
    const { view: v } = await onPhone(carol, r.body.mobileId.id, codeOf(url));
    expect(v.certificates.map((c) => c.profile)).toEqual(['piv_authentication']);
    const certs = await certsOf(v.device!.id);
    expect(await ocsp(certs)).toEqual(['good']);
    // notify: none — no further message.
    await srv.rt.services.mailOutbox.sendDue();
    expect(smtp!.received.length).toBe(seen + 1);
    // The operator terminates it: the phone ends, its certificate is revoked.
    const t = await admin.json<View>('POST', `/api/mobile-ids/${v.id}/terminate`, {});
    expect(t.status).toBe(200);
    expect(t.body.state).toBe('terminated');
    expect(t.body.device!.state).toBe('terminated');
    expect(await ocsp(certs)).toEqual(['revoked (cessationOfOperation)']);
    expect((await admin.json<Err>('POST', `/api/mobile-ids/${v.id}/resume`, {})).status).toBe(409);
  });

  it('cancel while waiting voids the code; a suspended person cannot order; an expired code is refused', async () => {
    await admin.json('PUT', `/api/mobile-id-policies/${policyId}`, {
      ...(await admin.json<Record<string, unknown>>('GET', `/api/mobile-id-policies/${policyId}`)).body,
      id: undefined,
      version: undefined,
      createdAt: undefined,
      updatedAt: undefined,
      qrDelivery: 'portal',
      notify: 'both',
    });
    const bob = await portalSession(srv.url, admin, 'bob');
    const r = await bob.json<Ordered>('POST', '/api/portal/mobile-id', {});
    expect(r.status).toBe(201);
    const c = await bob.json<View>('POST', `/api/portal/mobile-id/${r.body.mobileId.id}/cancel`, {});
    expect(c.body.state).toBe('cancelled');
    const voided = phoneLink(srv.url, await newWalletCard(), { code: codeOf(r.body.qr!.url) });
    await expect(voided.link.start()).rejects.toThrow(/unknown, used, expired/);
    expect(
      (await bob.json<Err>('POST', `/api/portal/mobile-id/${r.body.mobileId.id}/cancel`, {})).status,
    ).toBe(409);
    // Someone else's mobile ID is "not found".
    const alice = await portalSession(srv.url, admin, 'alice');
    expect((await alice.json('GET', `/api/portal/mobile-id/${r.body.mobileId.id}`)).status).toBe(404);
    // An expired code: the server's clock is past it (the link lives walletLinkMinutes).
    const r2 = await bob.json<Ordered>('POST', '/api/portal/mobile-id', {});
    await srv.rt.db.query(
      "UPDATE wallet_link_codes SET expires_at = now() - interval '1 minute' WHERE purpose = 'mobile_id' AND used_at IS NULL",
    );
    const expired = phoneLink(srv.url, await newWalletCard(), { code: codeOf(r2.body.qr!.url) });
    await expect(expired.link.start()).rejects.toThrow(/unknown, used, expired/);
    await bob.json('POST', `/api/portal/mobile-id/${r2.body.mobileId.id}/cancel`, {});
    // A suspended person: told why, nothing made.
    const bobId = await userId('bob');
    expect((await admin.json('POST', `/api/users/${bobId}/suspend`, {})).status).toBe(200);
    try {
      const actor = { id: bobId, name: 'bob', roles: ['user' as const] };
      expect(await srv.rt.services.mobileIds.eligibility(actor)).toMatchObject({
        canOrder: false,
        reason: expect.stringMatching(/suspended: only an active person/),
      });
      await expect(srv.rt.services.mobileIds.order(actor, {})).rejects.toMatchObject({ code: 'forbidden' });
    } finally {
      expect((await admin.json('POST', `/api/users/${bobId}/reactivate`, {})).status).toBe(200);
    }
    // (The suspension ended bob's portal session: the operator's view.)
    expect(
      (await admin.json<{ items: View[] }>('GET', `/api/users/${bobId}/mobile-ids`)).body.items.map(
        (m) => m.state,
      ),
    ).toEqual(['cancelled', 'cancelled']);
  });

  it('cancel while the phone is being set up, and after it failed: no active profile, no valid certificate', async () => {
    const current = (await admin.json<Record<string, unknown>>('GET', `/api/mobile-id-policies/${policyId}`))
      .body;
    const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...input } = current;
    const put = await admin.json('PUT', `/api/mobile-id-policies/${policyId}`, {
      ...input,
      profiles: ['PIV Authentication', 'Digital Signature'],
    });
    expect(put.status).toBe(200);
    const bob = await portalSession(srv.url, admin, 'bob');
    /** A phone whose card waits at its `n`th key generation until released. */
    const slowPhone = async (code: string, n: number) => {
      const card = await newWalletCard();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let generated = 0;
      let reached!: () => void;
      const atGate = new Promise<void>((r) => (reached = r));
      const transmit = card.transmit.bind(card);
      card.transmit = async (apdu: Uint8Array) => {
        if (apdu[1] === 0x47 && ++generated === n) {
          reached();
          await gate;
        }
        return transmit(apdu);
      };
      const phone = phoneLink(srv.url, card, { code });
      const info = await phone.link.start();
      await atGate;
      return { phone, release, card, token: info.token! };
    };
    const certsValid = async (id: string) => {
      const v = (
        await admin.json<{ items: View[] }>('GET', `/api/users/${await userId('bob')}/mobile-ids`)
      ).body.items.find((m) => m.id === id)!;
      return v.device ? (await certsOf(v.device.id)).filter((c) => c.status !== 'revoked') : [];
    };

    // 1. Cancelled while the phone is being personalized (its second key is being made).
    const r = await bob.json<Ordered>('POST', '/api/portal/mobile-id', {});
    const { phone, release, card, token } = await slowPhone(codeOf(r.body.qr!.url), 2);
    expect((await view(bob, r.body.mobileId.id)).state).toBe('issuing');
    const c = await bob.json<View>('POST', `/api/portal/mobile-id/${r.body.mobileId.id}/cancel`, {});
    expect(c.body.state).toBe('cancelled');
    release();
    const ended = await until(
      'the job to end',
      async () => {
        const v = await view(bob, r.body.mobileId.id);
        return v.job && v.job.status !== 'running' ? v : undefined;
      },
      60_000,
    );
    expect(ended.state).toBe('cancelled');
    expect(ended.job!.status).toBe('failed');
    expect(ended.device!.state).toBe('failed');
    await until('its certificates to be revoked', async () =>
      (await certsValid(ended.id)).length === 0 ? true : undefined,
    );
    phone.link.close();
    expect(Object.keys(card.snapshot().keys).filter((k) => k !== 'f9')).not.toEqual([]);
    // The half-made phone comes back: its next connection wipes it to blank, back in the inventory.
    const back = phoneLink(srv.url, card, { token });
    await back.link.start();
    await until('the phone to be wiped', async () =>
      (await admin.json<{ state: string }>('GET', `/api/devices/${ended.device!.id}`)).body.state ===
      'inventory'
        ? true
        : undefined,
    );
    expect(Object.keys(card.snapshot().keys).filter((k) => k !== 'f9')).toEqual([]);
    back.link.close();

    // 2. The phone goes away mid-way: the order fails (certificates revoked); Cancel closes it.
    const r2 = await bob.json<Ordered>('POST', '/api/portal/mobile-id', {});
    const slow = await slowPhone(codeOf(r2.body.qr!.url), 2);
    slow.phone.link.close();
    slow.release();
    const failed = await until(
      'the order to fail',
      async () => {
        const v = await view(bob, r2.body.mobileId.id);
        return v.state === 'failed' ? v : undefined;
      },
      60_000,
    );
    expect(failed.error).toBeTruthy();
    await until('its certificates to be revoked', async () =>
      (await certsValid(failed.id)).length === 0 ? true : undefined,
    );
    // notify: both — bob is told of the failure, once (the cancelled order above told nothing).
    const bobMail = await emailOf('bob');
    const isBobsFailure = (m: { rcptTo: string[]; headers: Map<string, string> }) =>
      m.rcptTo.includes(bobMail) && m.headers.get('subject') === 'Your mobile ID could not be created';
    await until('bob’s failure notice', async () => smtp!.received.find(isBobsFailure), 30_000);
    await srv.rt.services.mailOutbox.sendDue();
    expect(smtp!.received.filter(isBobsFailure)).toHaveLength(1);
    expect((await bob.json<View>('POST', `/api/portal/mobile-id/${failed.id}/cancel`, {})).body.state).toBe(
      'cancelled',
    );
  });

  it('the mail server is down while alice orders: the mobile ID is created, the notification arrives once it is back', async () => {
    await smtp!.close();
    smtp = null;
    const alice = await portalSession(srv.url, admin, 'alice');
    const r = await alice.json<Ordered>('POST', '/api/portal/mobile-id', {});
    expect(r.status).toBe(201);
    const { view: v } = await onPhone(alice, r.body.mobileId.id, codeOf(r.body.qr!.url));
    expect(v.state).toBe('active');
    const waiting = await until('the notification to wait for the mail server', async () => {
      const list = await admin.json<{
        items: { id: string; kind: string; status: string; attempts: number; lastError: string | null }[];
      }>('GET', `/api/mail?userId=${await userId('alice')}`);
      const m = list.body.items.find(
        (x) => x.kind === 'mobile_id_result' && x.status === 'queued' && x.attempts >= 1,
      );
      return m;
    });
    expect(waiting.lastError).toMatch(/could not be reached/);
    smtp = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS, port: smtpPort, plain: true });
    const aliceMail = await emailOf('alice');
    const isAlices = (m: { rcptTo: string[]; headers: Map<string, string> }) =>
      m.rcptTo.includes(aliceMail) && m.headers.get('subject') === 'Your mobile ID is active';
    await until(
      'alice’s notification on the server that came back',
      async () => smtp!.received.find(isAlices),
      30_000,
    );
    await until('the message to be sent', async () =>
      (await admin.json<{ status: string }>('GET', `/api/mail/${waiting.id}`)).body.status === 'sent'
        ? true
        : undefined,
    );
    await srv.rt.services.mailOutbox.sendDue();
    expect(smtp.received.filter(isAlices)).toHaveLength(1);
  });

  it('expiry ends a mobile ID on its own: the phone terminated, its certificates revoked', async () => {
    const alice = await userId('alice');
    const active = (
      await admin.json<{ items: View[] }>('GET', `/api/users/${alice}/mobile-ids`)
    ).body.items.find((m) => m.state === 'active')!;
    // Its validity ran out (the database's clock, as the scheduler reads the server's).
    await srv.rt.db.query("UPDATE mobile_ids SET valid_until = now() - interval '1 minute' WHERE id = $1", [
      active.id,
    ]);
    expect(await srv.rt.services.mobileIdLifecycle.expireDue()).toBe(1);
    expect(await srv.rt.services.mobileIdLifecycle.expireDue()).toBe(0);
    const after = (
      await admin.json<{ items: View[] }>('GET', `/api/users/${alice}/mobile-ids`)
    ).body.items.find((m) => m.id === active.id)!;
    expect(after.state).toBe('expired');
    expect(after.device!.state).toBe('terminated');
    expect(after.certificates.every((c) => c.status === 'revoked')).toBe(true);
  });
});

const emailOf = async (username: string) =>
  (
    await admin.json<{ items: { username: string; email: string }[] }>('GET', `/api/users?q=${username}`)
  ).body.items.find((u) => u.username === username)!.email;
