// Phones across servers (issue #20 with #14 and reference 004), with real processes: two `tessera
// serve` on one PostgreSQL schema, the phone's wallet (the same card application and link client the
// phone runs, over a real WebSocket) connected to one server, everything else done through the other:
//  1. an operator on B issues carol's phone, whose wallet is connected to A: the job runs on A, B's
//     SSE stream follows it to the end, and the phone hears its progress from A;
//  2. bob issues his own phone in the portal on B (the phone on A) and sets the PIN there;
//  3. dave orders a mobile ID in the portal on B and his phone opens its link on A; carol cancels
//     hers on B while her phone is being set up on A: the job fails there, nothing stays valid;
//  4. bob's phone, now on B, is the smart card of his workstation, whose `tessera agent --wallet`
//     talks to A: the six digits shown by the agent are on the phone, the phone allows it,
//     pkcs11-tool signs through pcscd/vpcd once the phone allows the key use, openssl verifies the
//     signature with the 9A certificate, a use refused on the phone makes none; Unpair on the phone
//     (on B) stops the agent (on A); paired again, `--unpair-wallet` (on A) ends it on the phone (B).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, saveIdentity } from '../../src/agent/identity.js';
import type { KeyUseRequest } from '../../src/cards/transport/wallet-link.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { runTool, workstationCard } from '../support/card-tools.js';
import { startProcess } from '../support/cli.js';
import { postgresAvailable } from '../support/db.js';
import { acquirePcscd, pcscdMissing, toolMissing, type PcscdLease } from '../support/pcscd.js';
import type { ApiClient } from '../support/server.js';
import { newWalletCard, phoneKeyFiles, phoneLink, portalSession } from '../wallet/support.js';
import { MAIN, startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg
  ? 'no PostgreSQL at 127.0.0.1:5432'
  : (pcscdMissing() ?? toolMissing('pkcs11-tool', 'yubico-piv-tool', 'openssl'));
if (missing) console.warn(`SKIPPED test/cluster/wallet-across.test.ts: ${missing}`);

type Job = {
  id: string;
  status: string;
  progress: number;
  deviceId: string;
  pinChangePending: boolean;
  error: { message: string } | null;
};
type Card = { agentId: string; reader: string };
type Cert = { id: string; slot: string | null; status: string };
const PIN = '135790';

describe.skipIf(missing !== undefined)('phones across two servers', { timeout: 600_000 }, () => {
  let two: TwoServers;
  let onB: ApiClient;
  let policyId: string;
  const ids: Record<string, string> = {};
  let bobPhone: { card: Awaited<ReturnType<typeof newWalletCard>>; token: string; deviceId: string };
  const links: { close(): void }[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-wlx-'));
    two = await startTwoServers('wlx');
    onB = await signIn(two.url('b'), 'admin', two.adminPassword);
    // The ECC policy (cards, tokens and phones) and the people, through B.
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    expect(ecc.deviceTypes).toContain('mobile');
    policyId = (await onB.json<{ id: string }>('POST', '/api/policies', ecc)).body.id;
    for (const u of ['bob', 'carol', 'dave']) {
      const r = await onB.json<{ id: string }>('POST', '/api/users', {
        username: u,
        displayName: `${u[0]!.toUpperCase()}${u.slice(1)} Cluster`,
        roles: ['user'],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids[u] = r.body.id;
    }
  }, 300_000);

  afterAll(async () => {
    for (const l of links) l.close();
    await two?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ownerOf = async (jobId: string) =>
    (
      await two.sql.query<{ name: string }>(
        `SELECT i.name FROM issuance_jobs j JOIN server_instances i ON i.id = j.owner_instance WHERE j.id = $1`,
        [jobId],
      )
    ).rows[0]?.name;
  const sse = async (api: ApiClient, path: string) =>
    (await (await api.call('GET', path)).text())
      .split('\n\n')
      .filter((x) => x.startsWith('event: job'))
      .map((x) => JSON.parse(x.split('\ndata: ')[1]!) as Job);
  const certsOf = async (deviceId: string) =>
    (await onB.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;

  it("an operator on B issues carol's phone on A; B's SSE follows the job, the phone hears it from A", async () => {
    const link = await onB.json<{ code: string }>('POST', '/api/wallet/links', { userId: ids.carol });
    expect(link.status).toBe(201);
    const phone = phoneLink(two.url('a'), await newWalletCard(), { code: link.body.code });
    links.push(phone.link);
    const info = await phone.link.start();
    const card = await until('B lists the phone held by A', async () =>
      (await onB.json<Card[]>('GET', '/api/agents/readers')).body.find((c) => c.agentId === info.walletId),
    );
    const r = await onB.json<{ job: Job }>('POST', '/api/issuance', {
      userId: ids.carol,
      agentId: card.agentId,
      reader: card.reader,
      action: 'issue',
      policyId,
      pin: PIN,
      pinConfirmation: PIN,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const events = await sse(onB, `/api/issuance/jobs/${r.body.job.id}/events`);
    expect(events.at(-1), JSON.stringify(events.at(-1)?.error)).toMatchObject({
      status: 'succeeded',
      progress: 100,
    });
    expect(events.some((e) => e.status === 'running' && e.progress > 0)).toBe(true);
    expect(await ownerOf(r.body.job.id)).toBe('server-a');
    await until('the phone told it is done', async () => phone.statuses.at(-1)?.status === 'succeeded');
    expect(phone.statuses.some((s) => s?.status === 'running')).toBe(true);
    const device = await onB.json<{ state: string; type: string }>(
      'GET',
      `/api/devices/${r.body.job.deviceId}`,
    );
    expect(device.body).toMatchObject({ state: 'active', type: 'mobile' });
    const certs = await certsOf(r.body.job.deviceId);
    expect(certs.length).toBeGreaterThan(0);
    expect(certs.every((c) => c.status === 'valid')).toBe(true);
    phone.link.close();
  });

  it('bob issues his own phone (on A) in the portal on B and sets the PIN there', async () => {
    const bob = await portalSession(two.url('b'), onB, 'bob');
    const code = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
    const card = await newWalletCard();
    const phone = phoneLink(two.url('a'), card, { code });
    links.push(phone.link);
    const info = await phone.link.start();
    await until('the portal on B lists the phone', async () =>
      (await bob.json<{ items: Card[] }>('GET', '/api/portal/cards')).body.items.some(
        (c) => c.agentId === info.walletId,
      ),
    );
    const start = await bob.json<{ job: Job }>('POST', '/api/portal/issuance', {
      agentId: info.walletId,
      reader: info.name,
    });
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    const events = await sse(bob, `/api/portal/issuance/jobs/${start.body.job.id}/events`);
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', pinChangePending: true });
    expect(await ownerOf(start.body.job.id)).toBe('server-a');
    const pin = await bob.json('POST', `/api/portal/issuance/jobs/${start.body.job.id}/pin`, {
      pin: PIN,
      confirmation: PIN,
    });
    expect(pin.status, JSON.stringify(pin.body)).toBe(200);
    await until('the phone told it is done', async () =>
      phone.statuses.at(-1)?.status === 'succeeded' && !phone.statuses.at(-1)?.pinChangePending
        ? true
        : undefined,
    );
    // The PIN set through B reached the card on the phone (through A): pkcs11-tool logs in with it below.
    bobPhone = { card, token: info.token!, deviceId: start.body.job.deviceId };
    phone.link.close();
  });

  it('dave orders a mobile ID in the portal on B; his phone opens the link on A', async () => {
    const mobile = await onB.json<{ id: string }>('POST', '/api/mobile-id-policies', {
      name: 'Mobile ID (cluster)',
      description: '',
      devicePolicyId: policyId,
      profiles: ['PIV Authentication', 'Digital Signature'],
      qrDelivery: 'portal',
      validityDays: 30,
      properties: [],
      recoverKey: false,
      notify: 'none',
      enabled: true,
    });
    expect(mobile.status, JSON.stringify(mobile.body)).toBe(201);
    const dave = await portalSession(two.url('b'), onB, 'dave');
    const ordered = await dave.json<{ mobileId: { id: string; state: string }; qr: { url: string } }>(
      'POST',
      '/api/portal/mobile-id',
      {},
    );
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    const code = decodeURIComponent(ordered.body.qr.url.split('#link=')[1]!);
    const phone = phoneLink(two.url('a'), await newWalletCard(), { code });
    links.push(phone.link);
    await phone.link.start();
    type View = {
      state: string;
      error: string | null;
      job: { id: string } | null;
      device: { state: string };
    };
    const done = await until(
      'the mobile ID issued',
      async () => {
        const v = (await dave.json<View>('GET', `/api/portal/mobile-id/${ordered.body.mobileId.id}`)).body;
        return v.state === 'issuing' || v.state === 'awaiting_wallet' ? undefined : v;
      },
      120_000,
    );
    expect(done.state, done.error ?? '').toBe('active');
    expect(await ownerOf(done.job!.id)).toBe('server-a');
    phone.link.choosePin(done.job!.id, PIN, PIN);
    const set = await until('the PIN set on the phone', async () =>
      phone.results.find((r) => r.of === 'wallet-pin'),
    );
    expect(set.ok).toBe(true);
    phone.link.close();
  });

  it('carol cancels her mobile ID on B while her phone is being set up on A: the job fails there, nothing stays valid', async () => {
    const carol = await portalSession(two.url('b'), onB, 'carol');
    const ordered = await carol.json<{ mobileId: { id: string }; qr: { url: string } }>(
      'POST',
      '/api/portal/mobile-id',
      {},
    );
    expect(ordered.status, JSON.stringify(ordered.body)).toBe(201);
    // Her phone's card waits at its second key generation until released.
    const card = await newWalletCard();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let generated = 0;
    const transmit = card.transmit.bind(card);
    card.transmit = async (apdu: Uint8Array) => {
      if (apdu[1] === 0x47 && ++generated === 2) {
        reached();
        await gate;
      }
      return transmit(apdu);
    };
    const phone = phoneLink(two.url('a'), card, {
      code: decodeURIComponent(ordered.body.qr.url.split('#link=')[1]!),
    });
    links.push(phone.link);
    await phone.link.start();
    await atGate;
    type View = {
      state: string;
      job: { id: string; status: string } | null;
      device: { id: string; state: string } | null;
    };
    const path = `/api/portal/mobile-id/${ordered.body.mobileId.id}`;
    expect((await carol.json<View>('GET', path)).body.state).toBe('issuing');
    const cancelled = await carol.json<View>('POST', `${path}/cancel`, {});
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    release();
    const ended = await until(
      'the job on A to end',
      async () => {
        const v = (await carol.json<View>('GET', path)).body;
        return v.job && v.job.status !== 'running' ? v : undefined;
      },
      120_000,
    );
    expect(ended).toMatchObject({
      state: 'cancelled',
      job: { status: 'failed' },
      device: { state: 'failed' },
    });
    expect(await ownerOf(ended.job!.id)).toBe('server-a');
    await until(
      'its certificates revoked',
      async () => (await certsOf(ended.device!.id)).every((c) => c.status === 'revoked') || undefined,
    );
    phone.link.close();
  });

  describe('a workstation on A, the phone on B', () => {
    let lease: PcscdLease;
    beforeAll(async () => {
      lease = await acquirePcscd();
    }, 240_000);
    afterAll(async () => {
      await lease?.release();
    });

    it('pairs with the six digits, signs through the relay once the phone allows it, and unpairs from the phone', async () => {
      await phoneKeyFiles(
        onB,
        bobPhone.deviceId,
        dir,
        'Signed at a workstation on server A with a phone on server B\n',
      );

      // Bob's phone comes back, to B.
      const asked: KeyUseRequest[] = [];
      let allow = true;
      const phone = phoneLink(two.url('b'), bobPhone.card, { token: bobPhone.token }, async (r) => {
        asked.push(r);
        return allow;
      });
      links.push(phone.link);
      await phone.link.start();

      // His workstation's agent, paired with a code from the portal on B, runs `--wallet` against A.
      const bob = await portalSession(two.url('b'), onB, 'bob');
      const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
      const identity = await pairWithCode(two.url('a'), code, { name: 'Desk of bob' });
      const stateFile = join(dir, 'agent.json');
      saveIdentity(stateFile, identity);
      const agent = two.keep(
        startProcess(process.execPath, [MAIN, 'agent', '--wallet', '--state', stateFile], {
          env: { ...process.env },
        }),
      );
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const asking = await until('the phone on B asked', async () =>
        phone.pairings.at(-1)?.find((p) => p.workstation === 'Desk of bob' && p.state === 'pending'),
      );
      expect(asking.code).toBe(shown);
      phone.link.decidePairing(asking.id, true);
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);
      await until('the phone shows the pairing active', async () =>
        phone.pairings.at(-1)?.find((p) => p.id === asking.id && p.state === 'active'),
      );

      // pcscd sees the card in its vsmartcard reader (it polls).
      await until(
        'yubico-piv-tool to see the phone',
        async () => {
          const r = await runTool('yubico-piv-tool', ['-r', 'Virtual', '-a', 'status']);
          return r.code === 0 && /Slot 9a/i.test(r.stdout) ? r : undefined;
        },
        60_000,
      );
      const { sign, verify } = workstationCard(dir, PIN);
      const signed = await sign('sig.der');
      expect(signed.code, signed.output).toBe(0);
      expect(asked.map((r) => `${r.by}:${r.slot}`)).toContain('Desk of bob:9A');
      const verified = await verify('sig.der');
      expect(verified.output).toContain('Verified OK');

      // Refused on the phone: the card answers "not allowed" and no signature is made.
      allow = false;
      const refused = await sign('no.der');
      expect(refused.code).not.toBe(0);
      // (OpenSC may try again after the refusal: every try asked the phone.)
      expect(asked.length).toBeGreaterThan(1);
      expect(new Set(asked.map((r) => `${r.by}:${r.slot}`))).toEqual(new Set(['Desk of bob:9A']));
      allow = true;

      // Unpair on the phone (B): the agent (A) removes the card and stops.
      phone.link.unpair(asking.id);
      await agent.waitFor(/The pairing with your phone has ended/, 30_000);
      expect(await agent.stop()).toBe(0);

      // Asked again, then ended from the workstation (A): the phone (B) no longer lists it.
      const again = two.keep(
        startProcess(process.execPath, [MAIN, 'agent', '--wallet', '--state', stateFile], {
          env: { ...process.env },
        }),
      );
      const shownAgain = (await again.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const second = await until('the phone on B asked again', async () =>
        phone.pairings.at(-1)?.find((p) => p.code === shownAgain && p.state === 'pending'),
      );
      phone.link.decidePairing(second.id, true);
      await again.waitFor(/Your phone is the card in the virtual reader/, 60_000);
      const unpair = two.keep(
        startProcess(process.execPath, [MAIN, 'agent', '--unpair-wallet', '--state', stateFile], {
          env: { ...process.env },
        }),
      );
      await unpair.waitFor(/The pairing with your phone is ended/, 60_000);
      await again.waitFor(/The pairing with your phone has ended/, 30_000);
      await until(
        'the phone on B told the pairing ended',
        async () => phone.pairings.at(-1)?.every((p) => p.id !== second.id) || undefined,
      );
      expect(await again.stop()).toBe(0);
      phone.link.close();
    });
  });
});
