// Remote issuance across servers (reference 003 with issue #20), with real processes: two `tessera
// serve` on one PostgreSQL schema, bob's phones (the wallet's card application and link client over a
// real WebSocket) connected to server A, the help desk working through server B only. Bob's first
// phone is lost: the request is made on B (its certificates on hold at once, on both servers' OCSP),
// B shows the one-time code; the new phone opens it on A, is offered "new credentials", accepts, is
// personalized by A, and bob chooses the PIN on the phone; B sees the request complete: the old
// phone terminated, its certificates revoked (keyCompromise), the new ones good — openssl asks each
// server's OCSP responder.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { OpensslDir, hasOpenssl, ocspStatuses } from '../pki/openssl.js';
import { postgresAvailable } from '../support/db.js';
import type { ApiClient } from '../support/server.js';
import { newWalletCard, phoneLink, selfIssuedPhone } from '../wallet/support.js';
import { startTwoServers, type ServerName, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg ? 'no PostgreSQL at 127.0.0.1:5432' : !hasOpenssl ? 'no openssl' : undefined;
if (missing) console.warn(`SKIPPED test/cluster/wallet-remote-across.test.ts: ${missing}`);

type Cert = { id: string; caId: string; status: string; slot: string | null };
const NEW_PIN = '281739';

describe.skipIf(missing !== undefined)('remote issuance across two servers', { timeout: 300_000 }, () => {
  let two: TwoServers;
  let onA: ApiClient;
  let onB: ApiClient;
  const ssl = new OpensslDir();
  const links: { close(): void }[] = [];

  beforeAll(async () => {
    two = await startTwoServers('wremx');
    onA = await signIn(two.url('a'), 'admin', two.adminPassword);
    onB = await signIn(two.url('b'), 'admin', two.adminPassword);
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    expect((await onB.json('POST', '/api/policies', ecc)).status).toBe(201);
    for (const username of ['bob', 'carol']) {
      const r = await onB.json('POST', '/api/users', {
        username,
        displayName: `${username} Remote`,
        roles: ['user'],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // Try again on the phone after a failed set-up (step 5 of docs/mobile.md "Remote issuance").
    const settings = (await onB.json<Record<string, unknown>>('GET', '/api/settings')).body;
    expect((await onB.json('PUT', '/api/settings', { ...settings, issuanceRetryForUser: true })).status).toBe(
      200,
    );
  }, 300_000);

  afterAll(async () => {
    for (const l of links) l.close();
    await two?.stop();
    rmSync(ssl.dir, { recursive: true, force: true });
  });

  const certsOf = async (deviceId: string) =>
    (await onB.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;
  /** What `server`'s OCSP responder says of each certificate, asked with openssl. */
  const ocsp = (server: ServerName, certs: Cert[]) =>
    ocspStatuses(ssl, two.url(server), certs, async (id) =>
      (await onB.call('GET', `/api/certificates/${id}/pem`)).text(),
    );

  it("the help desk on B replaces bob's lost phone; the new phone on A enrols; B sees it complete", async () => {
    const first = await selfIssuedPhone(two.url('a'), onA, 'bob');
    const oldCerts = await certsOf(first.deviceId);
    expect(oldCerts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(await ocsp('a', oldCerts))).toEqual(new Set(['good']));

    // The request, made on B, puts the old phone's certificates on hold on every server at once.
    const made = await onB.json<{ id: string; number: number; state: string; waitingFor: string }>(
      'POST',
      `/api/devices/${first.deviceId}/replacement`,
      { reason: 'lost', workflow: 'remote_issuance' },
    );
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ state: 'approved', waitingFor: 'phone_enrolment' });
    const requestId = made.body.id;
    expect(new Set(await ocsp('b', oldCerts))).toEqual(new Set(['revoked (certificateHold)']));
    expect(new Set(await ocsp('a', oldCerts))).toEqual(new Set(['revoked (certificateHold)']));

    // B shows the one-time code; bob's new phone opens it on A and is offered new credentials.
    const shown = await onB.json<{ code: string; purpose: string }>(
      'POST',
      `/api/requests/${requestId}/wallet-link`,
      { delivery: 'show' },
    );
    expect(shown.status, JSON.stringify(shown.body)).toBe(201);
    expect(shown.body.purpose).toBe('remote_issuance');
    const card = await newWalletCard();
    const phone = phoneLink(two.url('a'), card, { code: shown.body.code });
    links.push(phone.link);
    const info = await phone.link.start();
    expect(info.purpose).toBe('remote_issuance');
    const offer = await until('the offer on the phone', async () => phone.offers.at(-1) ?? undefined);
    expect(offer).toMatchObject({
      requestId,
      number: made.body.number,
      reason: 'lost',
      replaces: { serial: String(first.card.serial), type: 'mobile' },
    });

    // Bob accepts on the phone: A personalizes it, and asks the PIN on the phone.
    phone.link.enrol(requestId);
    const asked = await until(
      'the PIN asked on the phone',
      async () => {
        const s = phone.statuses.at(-1);
        return s?.status === 'succeeded' && s.pinChangePending ? s : undefined;
      },
      120_000,
    );
    expect(asked.onPhone).toBe(true);
    expect(phone.statuses.some((s) => s?.status === 'running')).toBe(true);
    const owner = await two.sql.query<{ name: string }>(
      `SELECT i.name FROM issuance_jobs j JOIN server_instances i ON i.id = j.owner_instance WHERE j.id = $1`,
      [asked.id],
    );
    expect(owner.rows[0]?.name).toBe('server-a');
    phone.link.choosePin(asked.id, NEW_PIN, NEW_PIN);
    await until('done on the phone', async () => {
      const s = phone.statuses.at(-1);
      return s?.status === 'succeeded' && !s.pinChangePending ? true : undefined;
    });

    // B sees the request complete: the old phone terminated and revoked, the new one active and good.
    const request = await until('the request completed on B', async () => {
      const r = (
        await onB.json<{ state: string; replacementDeviceId: string | null }>(
          'GET',
          `/api/requests/${requestId}`,
        )
      ).body;
      return r.state === 'completed' ? r : undefined;
    });
    expect((await onB.json<{ state: string }>('GET', `/api/devices/${first.deviceId}`)).body.state).toBe(
      'terminated',
    );
    expect(new Set(await ocsp('b', oldCerts))).toEqual(new Set(['revoked (keyCompromise)']));
    expect(new Set(await ocsp('a', oldCerts))).toEqual(new Set(['revoked (keyCompromise)']));
    const newDevice = (
      await onB.json<{ id: string; state: string; type: string; serial: string }>(
        'GET',
        `/api/devices/${request.replacementDeviceId}`,
      )
    ).body;
    expect(newDevice).toMatchObject({ state: 'active', type: 'mobile', serial: String(card.serial) });
    const newCerts = await certsOf(newDevice.id);
    expect(newCerts.length).toBeGreaterThanOrEqual(2);
    expect(newCerts.every((c) => c.status === 'valid')).toBe(true);
    expect(new Set(await ocsp('b', newCerts))).toEqual(new Set(['good']));
    expect(new Set(await ocsp('a', newCerts))).toEqual(new Set(['good']));
    // The lost phone's link ended with its device, whichever server it tries.
    await expect(phoneLink(two.url('b'), first.card, { token: first.token }).link.start()).rejects.toThrow(
      /not linked/,
    );
    // The new PIN opens the new phone's card: its tries are intact; nothing secret was audited.
    expect(card.snapshot().pinCounter.remaining).toBeGreaterThan(0);
    const audit = JSON.stringify((await onB.json('GET', '/api/audit?limit=400')).body);
    expect(audit).not.toContain(NEW_PIN);
    expect(audit).not.toContain(shown.body.code.split('.')[1]);
  });

  it('a set-up lost on A is tried again from the phone, now on B: B runs it and the request completes', async () => {
    const first = await selfIssuedPhone(two.url('a'), onA, 'carol');
    const oldCerts = await certsOf(first.deviceId);
    const made = await onB.json<{ id: string }>('POST', `/api/devices/${first.deviceId}/replacement`, {
      reason: 'stolen',
      workflow: 'remote_issuance',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const code = (
      await onB.json<{ code: string }>('POST', `/api/requests/${made.body.id}/wallet-link`, {
        delivery: 'show',
      })
    ).body.code;
    const card = await newWalletCard();
    const phone = phoneLink(two.url('a'), card, { code });
    links.push(phone.link);
    const info = await phone.link.start();
    await until('the offer on the phone', async () => phone.offers.at(-1) ?? undefined);
    // The phone drops off A after its second key is generated.
    const transmit = card.transmit.bind(card);
    let generated = 0;
    card.transmit = async (apdu) => {
      if (apdu[1] === 0x47 && ++generated === 2) phone.link.close();
      return transmit(apdu);
    };
    phone.link.enrol(made.body.id);
    await until('the link closed', async () => (phone.closes.length ? true : undefined));
    card.transmit = transmit;

    // It comes back through B: told of the failed set-up there, it tries again, and B runs it.
    const back = phoneLink(two.url('b'), card, { token: info.token! });
    links.push(back.link);
    await back.link.start();
    const failed = await until(
      'the failed set-up told to the phone on B',
      async () => {
        const s = back.statuses.at(-1);
        return s?.status === 'failed' ? s : undefined;
      },
      60_000,
    );
    expect(back.offers.at(-1)).toBeNull();
    back.link.retry(failed.id);
    const asked = await until(
      'the PIN asked on the phone after the retry',
      async () => {
        const s = back.statuses.at(-1);
        return s?.status === 'succeeded' && s.pinChangePending ? s : undefined;
      },
      120_000,
    );
    const owner = await two.sql.query<{ name: string }>(
      `SELECT i.name FROM issuance_jobs j JOIN server_instances i ON i.id = j.owner_instance WHERE j.id = $1`,
      [asked.id],
    );
    expect(owner.rows[0]?.name).toBe('server-b');
    back.link.choosePin(asked.id, NEW_PIN, NEW_PIN);
    const request = await until('the request completed', async () => {
      const r = (
        await onA.json<{ state: string; replacementDeviceId: string | null }>(
          'GET',
          `/api/requests/${made.body.id}`,
        )
      ).body;
      return r.state === 'completed' ? r : undefined;
    });
    expect(new Set(await ocsp('a', oldCerts))).toEqual(new Set(['revoked (keyCompromise)']));
    const newCerts = await certsOf(request.replacementDeviceId!);
    expect(newCerts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(await ocsp('a', newCerts))).toEqual(new Set(['good']));
    expect(new Set(await ocsp('b', newCerts))).toEqual(new Set(['good']));
  });
});
