// A derived mobile ID (NIST SP 800-157; a mobile ID policy with requireCard), through the real HTTP
// API on PGlite and PostgreSQL: the help desk issues alice's PIV card at their desk (their agent,
// an emulated card), alice's own agent holds it in her reader (a real AgentClient over WebSocket),
// and the phone is a Node-side wallet. The server drives her card with real APDUs through her agent.
// - refused: no card given, no active card, card not inserted, another person's card, a wrong PIN
//   (tries left, the PIN nowhere in the answer or the audit), a used, expired or foreign challenge,
//   a card whose 9A certificate is revoked;
// - ordered with the card signing the challenge: the mobile ID records the card it derives from;
// - it follows the card: suspended with it (OCSP certificateHold) and resumed with it; the card
//   forgotten → a temporary card stands in, the mobile ID stays with the original, and one ordered
//   with the temporary card goes back to the original when that card is found; the card
//   replaced → re-bound to the new card and usable throughout (also a permanent card issued over a
//   temporary one: it takes the mobile IDs of both); the card terminated → suspended
//   (OCSP certificateHold), the operator's resume refused; with cardEnd "revoke" → revoked (OCSP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { postgresAvailable } from '../support/db.js';
import { newWalletCard, phoneLink, portalSession } from './support.js';
import { pairAgent, signIn, until } from '../agent/support.js';
import { OpensslDir, hasOpenssl, ocspStatuses } from '../pki/openssl.js';

type View = {
  id: string;
  state: string;
  device: { id: string; serial: string; state: string } | null;
  job: { id: string; status: string } | null;
  certificates: { id: string; profile: string; status: string }[];
  derivedFrom: { id: string; serial: string; state: string } | null;
  cardHold: string | null;
  error: string | null;
};
type Ordered = { mobileId: View; qr: { url: string } | null };
type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Cert = { id: string; caId: string; status: string; slot: string | null };

const PIN = '482913';
const codeOf = (url: string) => decodeURIComponent(url.split('#link=')[1]!);
// PostgreSQL missing is reported by the store suites; here it only narrows the run to PGlite.
const engines = ['pglite' as const, ...((await postgresAvailable()) ? ['postgres' as const] : [])];

for (const engine of engines)
  describe.skipIf(!hasOpenssl)(`derived mobile ID (${engine})`, { timeout: 300_000 }, () => {
    let srv: TestServer;
    let admin: ApiClient;
    let deskAgentId: string;
    let cardPolicyId: string;
    let policyId: string;
    const desk = new MemoryReaderSet();
    const agents: AgentClient[] = [];
    const ssl = new OpensslDir();
    let serial = engine === 'pglite' ? 71_000_000 : 72_000_000;

    const runAgent = async (token: string, readers: MemoryReaderSet) => {
      const client = new AgentClient({ server: srv.url, token, readers, hostname: 'test' });
      agents.push(client);
      client.start();
      await client.waitConnected(30_000);
    };
    const userId = async (username: string) =>
      (
        await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
      ).body.items.find((u) => u.username === username)!.id;
    const setPolicy = async (patch: Record<string, unknown>) => {
      const cur = (await admin.json<Record<string, unknown>>('GET', `/api/mobile-id-policies/${policyId}`))
        .body;
      const { id: _i, version: _v, createdAt: _c, updatedAt: _u, ...input } = cur;
      const r = await admin.json<Record<string, unknown>>('PUT', `/api/mobile-id-policies/${policyId}`, {
        ...input,
        ...patch,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    /** The help desk issues a PIV card to the person at their desk; the card is then handed over. */
    const issueCard = async (forUser: string, requestId?: string) => {
      const card = new VirtualPivCard(newCardState({ serial: ++serial }));
      desk.insert('Desk', card);
      try {
        const start = await admin.json<{ job: { id: string } }>('POST', '/api/issuance', {
          userId: forUser,
          agentId: deskAgentId,
          reader: 'Desk',
          action: 'issue',
          policyId: cardPolicyId,
          pin: PIN,
          pinConfirmation: PIN,
          ...(requestId ? { requestId } : {}),
        });
        expect(start.status, JSON.stringify(start.body)).toBe(202);
        const job = await until(
          'the card issuance to end',
          async () => {
            const j = (
              await admin.json<{ status: string; deviceId: string; error: unknown }>(
                'GET',
                `/api/issuance/jobs/${start.body.job.id}`,
              )
            ).body;
            return j.status === 'running' ? undefined : j;
          },
          60_000,
        );
        expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
        return { card, deviceId: job.deviceId, serial: String(serial) };
      } finally {
        desk.remove('Desk');
      }
    };
    /** A person's portal session and their own agent with one reader. */
    const person = async (username: string) => {
      const api = await portalSession(srv.url, admin, username);
      const id = await pairAgent(api, `${username}'s laptop`);
      const readers = new MemoryReaderSet();
      readers.addReader('My reader');
      await runAgent(id.token, readers);
      return { api, agentId: id.agentId, readers, userId: await userId(username) };
    };
    const challenge = async (api: ApiClient) => {
      const c = await api.json<{ challengeId: string; expiresAt: string }>(
        'POST',
        '/api/portal/mobile-id/card-challenge',
        {},
      );
      expect(c.status).toBe(201);
      return c.body.challengeId;
    };
    const order = async (
      p: { api: ApiClient; agentId: string },
      card: Partial<{ challengeId: string; pin: string; reader: string }> = {},
    ) =>
      p.api.json<Ordered & Err>('POST', '/api/portal/mobile-id', {
        card: {
          challengeId: card.challengeId ?? (await challenge(p.api)),
          agentId: p.agentId,
          reader: card.reader ?? 'My reader',
          pin: card.pin ?? PIN,
        },
      });
    const view = async (api: ApiClient, id: string) =>
      (await api.json<View>('GET', `/api/portal/mobile-id/${id}`)).body;
    /** The phone opens the QR code's link; the mobile ID is created and its PIN chosen on the phone. */
    const onPhone = async (api: ApiClient, ordered: Ordered) => {
      const phone = phoneLink(srv.url, await newWalletCard(), { code: codeOf(ordered.qr!.url) });
      await phone.link.start();
      const done = await until(
        'the mobile ID to be created',
        async () => {
          const v = await view(api, ordered.mobileId.id);
          return v.state === 'issuing' || v.state === 'awaiting_wallet' ? undefined : v;
        },
        90_000,
      );
      expect(done.state, done.error ?? '').toBe('active');
      phone.link.choosePin(done.job!.id, '246810', '246810');
      await until('the PIN to be set', async () => phone.results.find((r) => r.of === 'wallet-pin'));
      phone.link.close();
      return done;
    };
    const certsOf = async (deviceId: string) =>
      (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;
    const ocsp = async (deviceId: string) =>
      ocspStatuses(ssl, srv.url, await certsOf(deviceId), async (id) =>
        (await admin.call('GET', `/api/certificates/${id}/pem`)).text(),
      );
    const deviceState = async (id: string) =>
      (await admin.json<{ state: string }>('GET', `/api/devices/${id}`)).body.state;

    let alice: Awaited<ReturnType<typeof person>>;
    let aliceCard: Awaited<ReturnType<typeof issueCard>>;
    let bobCard: Awaited<ReturnType<typeof issueCard>>;
    let mobileId: View;

    beforeAll(async () => {
      srv = await startTestServer({ demo: true, engine });
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      const policies = (
        await admin.json<{ items: { id: string; name: string; deviceTypes: string[] }[] }>(
          'GET',
          '/api/policies',
        )
      ).body.items;
      cardPolicyId = policies.find((p) => p.name.includes('ECC'))!.id;
      const mobile = policies.find((p) => p.deviceTypes.includes('mobile'))!;
      policyId = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/mobile-id-policies')
      ).body.items.find((x) => x.name === 'Mobile ID (demo)')!.id;
      const p = await setPolicy({
        devicePolicyId: mobile.id,
        profiles: ['PIV Authentication'],
        qrDelivery: 'portal',
        notify: 'none',
        requireCard: true,
      });
      expect(p).toMatchObject({ requireCard: true, cardEnd: 'suspend' });
      const deskId = await pairAgent(admin, 'Help desk');
      deskAgentId = deskId.agentId;
      desk.addReader('Desk');
      await runAgent(deskId.token, desk);
      alice = await person('alice');
    }, 180_000);
    afterAll(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await srv?.close();
      ssl.dispose();
    });

    it('the policy option is validated; without an active card alice is told why she cannot order', async () => {
      const bad = await admin.json<Err>('PUT', `/api/mobile-id-policies/${policyId}`, {
        ...(await setPolicy({})),
        id: undefined,
        version: undefined,
        createdAt: undefined,
        updatedAt: undefined,
        cardEnd: 'wipe',
      });
      expect(bad.status).toBe(400);
      const mine = await alice.api.json<{ canOrder: boolean; reason: string; requiresCard: boolean }>(
        'GET',
        '/api/portal/mobile-id',
      );
      expect(mine.body).toMatchObject({ canOrder: false, requiresCard: true });
      expect(mine.body.reason).toMatch(/derived from your PIV card, and you have no active one/);
      const none = await order(alice);
      expect(none.status).toBe(409);
      expect(none.body.error.code).toBe('no_active_card');
    });

    it('refusals: no card given, card not inserted, another person’s card, wrong PIN, used/expired/foreign challenge', async () => {
      aliceCard = await issueCard(alice.userId);
      bobCard = await issueCard(await userId('bob'));
      const mine = await alice.api.json<{ canOrder: boolean; cards: { serial: string }[] }>(
        'GET',
        '/api/portal/mobile-id',
      );
      expect(mine.body).toMatchObject({ canOrder: true, cards: [{ serial: aliceCard.serial }] });
      // The policy requires the card: an order without it is refused.
      const bare = await alice.api.json<Err>('POST', '/api/portal/mobile-id', {});
      expect(bare.status).toBe(400);
      expect(bare.body.error.code).toBe('card_required');
      // The reader is empty.
      const empty = await order(alice);
      expect(empty.status).toBe(409);
      expect(empty.body.error.code).toBe('card_not_inserted');
      // Bob's card in alice's reader.
      alice.readers.insert('My reader', bobCard.card);
      const wrong = await order(alice);
      expect(wrong.status).toBe(409);
      expect(wrong.body.error).toMatchObject({ code: 'wrong_card' });
      expect(wrong.body.error.message).toContain(`insert card ${aliceCard.serial}`);
      alice.readers.remove('My reader');
      alice.readers.insert('My reader', aliceCard.card);
      // A wrong PIN: the card counts it, the answer says how many tries are left, never the PIN.
      const c1 = await challenge(alice.api);
      const badPin = await order(alice, { challengeId: c1, pin: '000000' });
      expect(badPin.status).toBe(403);
      expect(badPin.body.error).toMatchObject({ code: 'card_pin_wrong', details: { attemptsRemaining: 2 } });
      expect(badPin.body.error.message).toMatch(/Wrong PIN for card \d+: 2 attempts left/);
      expect(JSON.stringify(badPin.body)).not.toContain('000000');
      // That challenge served once: replaying it (now with the right PIN) is refused.
      const replay = await order(alice, { challengeId: c1 });
      expect(replay.status).toBe(409);
      expect(replay.body.error.code).toBe('card_challenge_used');
      // An expired challenge (the server's clock is past it).
      const c2 = await challenge(alice.api);
      await srv.rt.db.query(
        "UPDATE mobile_id_card_challenges SET expires_at = now() - interval '1 second' WHERE id = $1",
        [c2],
      );
      const late = await order(alice, { challengeId: c2 });
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('card_challenge_expired');
      // Another person's challenge is unknown to alice.
      const bob = await portalSession(srv.url, admin, 'bob');
      const foreign = await order(alice, { challengeId: await challenge(bob) });
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe('card_challenge_unknown');
      const audit = JSON.stringify(
        await srv.rt.db.query("SELECT details FROM audit_events WHERE action LIKE 'mobile_id.%'"),
      );
      expect(audit).toContain('card_pin_wrong');
      expect(audit).not.toContain('000000');
      expect(audit).not.toContain(PIN);
    });

    it('ordered with the card signing the challenge: derived from the card, created on the phone', async () => {
      const r = await order(alice);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.mobileId.derivedFrom).toMatchObject({ id: aliceCard.deviceId, state: 'active' });
      mobileId = await onPhone(alice.api, r.body);
      expect(mobileId.derivedFrom!.serial).toBe(aliceCard.serial);
      expect(await ocsp(mobileId.device!.id)).toEqual(['good']);
      // The PIN the person typed is nowhere in the audit log.
      const audit = JSON.stringify(await srv.rt.db.query('SELECT details FROM audit_events'));
      expect(audit).not.toContain(PIN);
    });

    it('follows the card: suspended with it, resumed with it', async () => {
      expect((await admin.json('POST', `/api/devices/${aliceCard.deviceId}/suspend`, {})).status).toBe(200);
      const held = await view(alice.api, mobileId.id);
      expect(held).toMatchObject({ state: 'suspended', cardHold: 'card_suspended' });
      expect(await ocsp(mobileId.device!.id)).toEqual(['revoked (certificateHold)']);
      // The operator cannot lift what the card holds.
      const lift = await admin.json<Err>('POST', `/api/mobile-ids/${mobileId.id}/resume`, {});
      expect(lift.status).toBe(409);
      expect(lift.body.error.message).toMatch(/which is suspended: resume the card/);
      expect((await admin.json('POST', `/api/devices/${aliceCard.deviceId}/resume`, {})).status).toBe(200);
      expect(await view(alice.api, mobileId.id)).toMatchObject({ state: 'active', cardHold: null });
      expect(await ocsp(mobileId.device!.id)).toEqual(['good']);
    });

    it('the card forgotten: a temporary card stands in; a mobile ID ordered with it goes back to the original with it', async () => {
      const made = await admin.json<{ id: string }>(
        'POST',
        `/api/devices/${aliceCard.deviceId}/replacement`,
        {
          reason: 'forgotten',
          workflow: 'local_issuance',
        },
      );
      expect(made.status).toBe(201);
      const temp = await issueCard(alice.userId, made.body.id);
      expect(await deviceState(aliceCard.deviceId)).toBe('invalid');
      // The mobile ID stays with the original card, and usable.
      expect(await view(alice.api, mobileId.id)).toMatchObject({
        state: 'active',
        derivedFrom: { id: aliceCard.deviceId, state: 'invalid' },
      });
      // Meanwhile the temporary card is alice's active card: a mobile ID may be derived from it.
      alice.readers.remove('My reader');
      alice.readers.insert('My reader', temp.card);
      const r = await order(alice);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.mobileId.derivedFrom).toMatchObject({ id: temp.deviceId });
      const second = await onPhone(alice.api, r.body);
      // The card turns up: the help desk ends the temporary card, the original is back.
      expect((await admin.json('POST', `/api/devices/${temp.deviceId}/terminate`, {})).status).toBe(200);
      expect(await deviceState(aliceCard.deviceId)).toBe('active');
      for (const id of [mobileId.id, second.id])
        expect(await view(alice.api, id)).toMatchObject({
          state: 'active',
          cardHold: null,
          derivedFrom: { id: aliceCard.deviceId, state: 'active' },
        });
      expect(await ocsp(second.device!.id)).toEqual(['good']);
      alice.readers.remove('My reader');
      alice.readers.insert('My reader', aliceCard.card);
    });

    it('the card replaced (lost): the mobile ID is re-bound to the new card and stays usable', async () => {
      const made = await admin.json<{ id: string }>(
        'POST',
        `/api/devices/${aliceCard.deviceId}/replacement`,
        {
          reason: 'lost',
          workflow: 'local_issuance',
        },
      );
      expect(made.status).toBe(201);
      // The card is reported lost: the phone is not, so its mobile ID stays usable meanwhile.
      expect((await view(alice.api, mobileId.id)).state).toBe('active');
      const next = await issueCard(alice.userId, made.body.id);
      expect(await deviceState(aliceCard.deviceId)).toBe('terminated');
      const v = await view(alice.api, mobileId.id);
      expect(v).toMatchObject({
        state: 'active',
        cardHold: null,
        derivedFrom: { id: next.deviceId, serial: next.serial, state: 'active' },
      });
      expect(await ocsp(mobileId.device!.id)).toEqual(['good']);
      aliceCard = next;
    });

    it('forgotten, then lost: the card issued over the temporary one takes the mobile IDs of both', async () => {
      const forgot = await admin.json<{ id: string }>(
        'POST',
        `/api/devices/${aliceCard.deviceId}/replacement`,
        { reason: 'forgotten', workflow: 'local_issuance' },
      );
      expect(forgot.status).toBe(201);
      const temp = await issueCard(alice.userId, forgot.body.id);
      alice.readers.remove('My reader');
      alice.readers.insert('My reader', temp.card);
      const r = await order(alice);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const fromTemp = await onPhone(alice.api, r.body);
      // The forgotten card is not found after all: it is lost, and a permanent card is issued.
      const lost = await admin.json<{ id: string }>(
        'POST',
        `/api/devices/${aliceCard.deviceId}/replacement`,
        {
          reason: 'lost',
          workflow: 'local_issuance',
        },
      );
      expect(lost.status, JSON.stringify(lost.body)).toBe(201);
      const next = await issueCard(alice.userId, lost.body.id);
      expect(await deviceState(aliceCard.deviceId)).toBe('terminated');
      expect(await deviceState(temp.deviceId)).toBe('terminated');
      for (const id of [mobileId.id, fromTemp.id])
        expect(await view(alice.api, id)).toMatchObject({
          state: 'active',
          cardHold: null,
          derivedFrom: { id: next.deviceId, state: 'active' },
        });
      expect(await ocsp(fromTemp.device!.id)).toEqual(['good']);
      aliceCard = next;
    });

    it('a card whose 9A certificate is revoked cannot prove alice', async () => {
      alice.readers.remove('My reader');
      alice.readers.insert('My reader', aliceCard.card);
      const nineA = (await certsOf(aliceCard.deviceId)).find((c) => c.slot === '9a')!;
      expect(
        (await admin.json('POST', `/api/certificates/${nineA.id}/revoke`, { reason: 'keyCompromise' }))
          .status,
      ).toBe(200);
      const r = await order(alice);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('card_certificate_invalid');
      expect(r.body.error.message).toMatch(/authentication certificate of card \d+ is revoked/);
    });

    it('the card terminated with none in its place: the mobile ID is suspended, its certificates on hold', async () => {
      expect((await admin.json('POST', `/api/devices/${aliceCard.deviceId}/terminate`, {})).status).toBe(200);
      expect(await view(alice.api, mobileId.id)).toMatchObject({
        state: 'suspended',
        cardHold: 'card_terminated',
      });
      expect(await ocsp(mobileId.device!.id)).toEqual(['revoked (certificateHold)']);
      const lift = await admin.json<Err>('POST', `/api/mobile-ids/${mobileId.id}/resume`, {});
      expect(lift.status).toBe(409);
      expect(lift.body.error.message).toMatch(/ended with no card in its place/);
      const events = await srv.rt.db.query<{ action: string }>(
        'SELECT action FROM audit_events WHERE target_id = $1 ORDER BY seq',
        [mobileId.id],
      );
      expect(events.map((e) => e.action)).toEqual(
        expect.arrayContaining(['mobile_id.suspended', 'mobile_id.resumed', 'mobile_id.rebound']),
      );
    });

    it('with cardEnd "revoke", the card terminated revokes the mobile ID', async () => {
      await setPolicy({ cardEnd: 'revoke' });
      const carol = await person('carol');
      const card = await issueCard(carol.userId);
      carol.readers.insert('My reader', card.card);
      const r = await order(carol);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const m = await onPhone(carol.api, r.body);
      expect((await admin.json('POST', `/api/devices/${card.deviceId}/terminate`, {})).status).toBe(200);
      expect(await view(carol.api, m.id)).toMatchObject({ state: 'revoked' });
      expect(await deviceState(m.device!.id)).toBe('terminated');
      expect(await ocsp(m.device!.id)).toEqual(['revoked (cessationOfOperation)']);
    });

    it('the card terminated while the phone is being set up: the order fails, nothing valid is left', async () => {
      const bob = await person('bob');
      bob.readers.insert('My reader', bobCard.card);
      const r = await order(bob);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      // The phone's card waits at its key generation until released.
      const card = await newWalletCard();
      let release!: () => void;
      const gate = new Promise<void>((go) => (release = go));
      let reached!: () => void;
      const atGate = new Promise<void>((go) => (reached = go));
      const transmit = card.transmit.bind(card);
      card.transmit = async (apdu: Uint8Array) => {
        if (apdu[1] === 0x47) {
          reached();
          await gate;
        }
        return transmit(apdu);
      };
      const phone = phoneLink(srv.url, card, { code: codeOf(r.body.qr!.url) });
      await phone.link.start();
      await atGate;
      expect((await view(bob.api, r.body.mobileId.id)).state).toBe('issuing');
      expect((await admin.json('POST', `/api/devices/${bobCard.deviceId}/terminate`, {})).status).toBe(200);
      release();
      const ended = await until(
        'the order to end',
        async () => {
          const v = await view(bob.api, r.body.mobileId.id);
          return v.state === 'issuing' ? undefined : v;
        },
        60_000,
      );
      expect(ended.state).toBe('failed');
      expect(ended.error).toMatch(new RegExp(`Card ${bobCard.serial} is terminated`));
      const left = await until('its certificates to be revoked', async () => {
        const certs = ended.device ? await certsOf(ended.device.id) : [];
        return certs.every((c) => c.status === 'revoked') ? certs : undefined;
      });
      expect(left.length).toBeGreaterThan(0);
      phone.link.close();
      // Every step above was audited in the one hash chain, unbroken.
      expect((await admin.json<{ ok: boolean }>('GET', '/api/audit/verify')).body.ok).toBe(true);
    });
  });
