// Operator issuance on emulated cards, end to end through the real PIV protocol, the real CA and the
// store: every PIN mode, RSA and ECC policies, certificates read back from the card and judged by
// openssl; failures (card removed, wrong transport key, interrupted server) with Retry, Cancel and
// Recycle.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { DEFAULT_MANAGEMENT_KEY, SLOT, certificateObjectFor } from '../../src/cards/piv/constants.js';
import { decodeCommand } from '../../src/cards/apdu.js';
import { CardRemovedError, InvalidPinError } from '../../src/cards/errors.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import { managementKeyFor } from '../../src/services/card-keys.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';

let srv: TestServer;
let cards: MemoryCardAccess;
let admin: Actor;
let rsa: Policy;
let ecc: Policy;
let aliceId: string;
let ossl: OpensslDir;
let serial = 20_000_000;

beforeAll(async () => {
  cards = new MemoryCardAccess();
  srv = await startTestServer({ demo: true, cardAccess: cards });
  const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
  admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
  const policies = await srv.rt.services.policies.list();
  rsa = policies.find((p) => p.name.startsWith('PIV RSA'))!;
  ecc = policies.find((p) => p.name.startsWith('PIV ECC'))!;
  aliceId = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!.id;
  ossl = new OpensslDir();
  const cas = await srv.rt.services.pki.cas.list();
  for (const ca of cas)
    ossl.file(`${ca.kind}.pem`, toPem(await srv.rt.services.pki.cas.certificateDer(ca.id)));
});
afterAll(async () => {
  await srv?.close();
  ossl?.dispose();
});

const setMode = async (
  initialPinDisplayMode: 'displayed' | 'disguised' | 'not_displayed',
  changePinDuringIssuance = false,
) => {
  const s = await srv.rt.services.settings.getSecurity();
  await srv.rt.services.settings.putSecurity(admin, { ...s, initialPinDisplayMode, changePinDuringIssuance });
};

const newCard = (reader = `Reader ${serial}`) => {
  const s = ++serial;
  cards.addCard(reader, s);
  return { reader, serial: String(s), ref: { agentId: TEST_AGENT_ID, reader } };
};

const issue = async (
  card: { ref: { agentId: string; reader: string } },
  policy: Policy,
  pin?: Record<string, string>,
) => {
  const { job } = await srv.rt.services.issuance.starter.start(admin, {
    userId: aliceId,
    card: card.ref,
    action: 'issue',
    policyId: policy.id,
    ...pin,
  });
  await srv.rt.services.issuance.runner.settled(job!.id);
  return srv.rt.services.issuance.jobs.get(job!.id);
};

async function session(reader: string) {
  return PivSession.open(await cards.readers.connect(reader));
}

/** Reads each policy slot's certificate back from the card and has openssl verify it. */
async function expectCardCertificates(reader: string, policy: Policy) {
  const s = await session(reader);
  for (const p of policy.credentialProfiles) {
    const der = await s.getCertificate(Number.parseInt(p.slot, 16));
    expect(der, `certificate in slot ${p.slot}`).toBeDefined();
    if (!hasOpenssl) continue;
    const f = ossl.file(`leaf-${reader.replace(/\W/g, '')}-${p.slot}.pem`, toPem(der!));
    const out = ossl.run(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', f]);
    expect(out.out).toMatch(/: OK/);
    expect(out.status).toBe(0);
  }
}

/** The PUK stored for the device unblocks the card's PIN: it is the one the card holds. */
async function expectStoredPuk(s: PivSession, deviceId: string) {
  const [puk] = await srv.rt.db.query<{ value: Uint8Array }>(
    `SELECT value FROM device_secrets WHERE device_id = $1 AND kind = 'puk'`,
    [deviceId],
  );
  await s.unblockPin(srv.rt.masterKey.decryptText(puk!.value, `puk:${deviceId}`), '135790');
  await s.verifyPin('135790');
}

describe('issuance on an emulated card', () => {
  it('lists connected cards with serial and whether they are blank', async () => {
    const c = newCard();
    const list = await srv.rt.services.issuance.cards.list(admin.id!);
    const mine = list.find((x) => x.reader === c.reader)!;
    expect(mine).toMatchObject({ serial: c.serial, status: 'blank', cardPresent: true });
    expect(mine.cardType).toMatch(/PIV/);
  });

  it('displayed PIN, RSA-2048 policy: the card holds the keys and certificates, the device is active', async () => {
    await setMode('displayed');
    const c = newCard();
    const job = await issue(c, rsa, { pin: '482913' });
    expect(job.error).toBeNull();
    expect(job).toMatchObject({ status: 'succeeded', progress: 100 });
    const device = await srv.rt.services.devices.get(job.deviceId);
    expect(device).toMatchObject({ state: 'active', userId: aliceId, policyId: rsa.id, serial: c.serial });
    expect(device.issuedAt).not.toBeNull();
    await expectCardCertificates(c.reader, rsa);
    const s = await session(c.reader);
    await s.verifyPin('482913');
    // The card now answers to its own diversified management key, not the transport key.
    await expect(s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03)).rejects.toThrow();
    const mk = managementKeyFor(srv.rt.masterKey, c.serial, s.version);
    await s.authenticate(mk.key, mk.algorithm);
    // The PUK stored for the device (with the initial PIN, by the starter) is the one the card took.
    await expectStoredPuk(s, device.id);
    // The card was unknown: registered on the way (inserted issuing, audited as a registration).
    const audit = await srv.rt.services.audit.list({ targetId: device.id, limit: 50, offset: 0 });
    expect(audit.items.map((e) => e.action).reverse()).toEqual([
      'device.registered',
      'issuance.started',
      'issuance.succeeded',
    ]);
    const certs = await srv.rt.services.pki.certificates.search({
      deviceId: device.id,
      limit: 10,
      offset: 0,
    });
    expect(certs.items.map((x) => x.slot).sort()).toEqual(['9a', '9c', '9d', '9e']);
    expect(certs.items.every((x) => x.status === 'valid')).toBe(true);
    expect(await srv.rt.services.issuance.initialPin.available(device.id)).toBe(false);
  });

  it('disguised PIN, ECC P-256 policy: the PIN must be typed twice and meet the policy', async () => {
    await setMode('disguised');
    const c = newCard();
    const start = (pin: string, pinConfirmation?: string) =>
      srv.rt.services.issuance.starter.start(admin, {
        userId: aliceId,
        card: c.ref,
        action: 'issue',
        policyId: ecc.id,
        pin,
        ...(pinConfirmation ? { pinConfirmation } : {}),
      });
    await expect(start('482913')).rejects.toMatchObject({
      code: 'validation_failed',
      details: { field: 'pinConfirmation' },
    });
    await expect(start('123456', '123456')).rejects.toThrow(/sequence/i);
    const job = await issue(c, ecc, { pin: '739184', pinConfirmation: '739184' });
    expect(job.status).toBe('succeeded');
    await expectCardCertificates(c.reader, ecc);
    await (await session(c.reader)).verifyPin('739184');
  });

  it('not displayed, no change: Tessera sets the PIN and it can be retrieved once', async () => {
    await setMode('not_displayed', false);
    const c = newCard();
    await expect(
      srv.rt.services.issuance.starter.start(admin, {
        userId: aliceId,
        card: c.ref,
        action: 'issue',
        policyId: ecc.id,
        pin: '482913',
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const job = await issue(c, ecc);
    expect(job).toMatchObject({ status: 'succeeded', pinChangePending: false });
    const { pin } = await srv.rt.services.issuance.initialPin.retrieve(admin, job.deviceId);
    expect(pin).toMatch(/^\d{6,8}$/);
    await (await session(c.reader)).verifyPin(pin);
    await expect(srv.rt.services.issuance.initialPin.retrieve(admin, job.deviceId)).rejects.toMatchObject({
      code: 'conflict',
    });
    const audit = await srv.rt.services.audit.list({ targetId: job.deviceId, limit: 50, offset: 0 });
    expect(audit.items.map((e) => e.action)).toContain('device.initial_pin_retrieved');
    expect(JSON.stringify(audit.items)).not.toContain(pin);
  });

  it('not displayed, change during issuance: the new PIN is set at the end', async () => {
    await setMode('not_displayed', true);
    const c = newCard();
    const job = await issue(c, ecc);
    expect(job).toMatchObject({ status: 'succeeded', pinChangePending: true });
    await expect(srv.rt.services.issuance.initialPin.retrieve(admin, job.deviceId)).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(
      srv.rt.services.issuance.pinChange.change(admin, job.id, '1111', '1111'),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    const done = await srv.rt.services.issuance.pinChange.change(admin, job.id, '864209', '864209');
    expect(done.pinChangePending).toBe(false);
    await (await session(c.reader)).verifyPin('864209');
  });

  it('Bind Device associates a blank card with the person, with no card writes', async () => {
    const c = newCard();
    const { device, job } = await srv.rt.services.issuance.starter.start(admin, {
      userId: aliceId,
      card: c.ref,
      action: 'bind',
      policyId: ecc.id,
    });
    expect(job).toBeNull();
    expect(device).toMatchObject({ state: 'bound', userId: aliceId, serial: c.serial });
    const s = await session(c.reader);
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    expect(
      (await srv.rt.services.issuance.cards.list(admin.id!)).find((x) => x.reader === c.reader)?.status,
    ).toBe('bound');
  });
});

/**
 * Pulls the card out of its reader as it receives the first certificate write (PUT DATA of the 9A,
 * 9C, 9D or 9E certificate object, SP 800-73-4 Part 1): at a known APDU, which the card never
 * answers, rather than whenever a progress callback gets round to it. The card behaves normally
 * once it is back in a reader.
 */
function pullOutAtFirstCertificateWrite(reader: string): void {
  const card = cards.readers.cardIn(reader)!;
  const transmit = card.transmit.bind(card);
  const certificateObjects = [SLOT.AUTHENTICATION, SLOT.SIGNATURE, SLOT.KEY_MANAGEMENT, SLOT.CARD_AUTH].map(
    (slot) => certificateObjectFor(slot),
  );
  card.transmit = (apdu: Uint8Array) => {
    const c = decodeCommand(apdu);
    const tag =
      c.ins === 0xdb && c.data[0] === 0x5c && c.data[1] === 3
        ? (c.data[2]! << 16) | (c.data[3]! << 8) | c.data[4]!
        : -1;
    if (!certificateObjects.includes(tag)) return transmit(apdu);
    card.transmit = transmit;
    // Once the reader has this exchange in hand, as a hand pulling a card does.
    queueMicrotask(() => cards.readers.remove(reader));
    return new Promise<Uint8Array>(() => undefined);
  };
}

describe('failures', () => {
  it('a progress report the run went on without, refused by the database, fails the run at its next step', async () => {
    await setMode('displayed');
    // Every progress write of a running job is refused, except the one that stores cardTouched
    // (the report the run waits for). The others are written 50 ms after they are made, while the
    // run goes on: the run must still fail, at its next report, and not go on to the end.
    await srv.rt.db.exec(`
      CREATE FUNCTION refuse_progress() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'progress refused by the test'; END $$;
      CREATE TRIGGER refuse_progress BEFORE UPDATE ON issuance_jobs FOR EACH ROW
        WHEN (OLD.status = 'running' AND NEW.status = 'running'
              AND NOT (NEW.options ? 'cardTouched' AND NOT OLD.options ? 'cardTouched'))
        EXECUTE FUNCTION refuse_progress();`);
    onTestFinished(async () => {
      await srv.rt.db.exec('DROP TRIGGER refuse_progress ON issuance_jobs; DROP FUNCTION refuse_progress();');
    });
    const c = newCard();
    // RSA: each of the card's key generations outlasts the 50 ms gathering window.
    const job = await issue(c, rsa, { pin: '482913' });
    expect(job).toMatchObject({ status: 'failed', error: { code: 'internal' } });
    expect(job.error?.detail).toMatch(/progress refused by the test/);
    expect((await srv.rt.services.devices.get(job.deviceId)).state).toBe('failed');
    // Stopped where the refusal was heard: the card did not get its last certificate.
    const s = await session(c.reader);
    const last = rsa.credentialProfiles.at(-1)!;
    expect(await s.getCertificate(Number.parseInt(last.slot, 16))).toBeUndefined();
  });

  // Batching: as through an agent that runs a step's commands in one exchange (the card is pulled
  // within the exchange that writes the certificates and reads them back).
  it.each([
    ['', false],
    [' (commands batched)', true],
  ])(
    'card removed mid-way%s: failed with a clear error; Retry on the re-inserted card succeeds',
    async (_, batching) => {
      cards.batching = batching;
      onTestFinished(() => {
        cards.batching = false;
      });
      await setMode('displayed');
      const c = newCard();
      const card = cards.readers.cardIn(c.reader)!;
      pullOutAtFirstCertificateWrite(c.reader);
      const { job } = await srv.rt.services.issuance.starter.start(admin, {
        userId: aliceId,
        card: c.ref,
        action: 'issue',
        policyId: rsa.id,
        pin: '482913',
      });
      await srv.rt.services.issuance.runner.settled(job!.id);
      const failed = await srv.rt.services.issuance.jobs.get(job!.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({
        code: new CardRemovedError('x').code,
        correlationId: expect.any(String),
      });
      expect((await srv.rt.services.devices.get(failed.deviceId)).state).toBe('failed');
      // The card took our management key before it left: the job says so (written with the next
      // step's progress), which is what makes Retry wipe it first.
      const [touched] = await srv.rt.db.query<{ options: { cardTouched?: boolean } }>(
        'SELECT options FROM issuance_jobs WHERE id = $1',
        [job!.id],
      );
      expect(touched?.options.cardTouched).toBe(true);

      cards.readers.insert(c.reader, card);
      const retried = await srv.rt.services.issuance.retry.retry(admin, job!.id);
      expect(retried.attempt).toBe(2);
      await srv.rt.services.issuance.runner.settled(job!.id);
      expect(await srv.rt.services.issuance.jobs.get(job!.id)).toMatchObject({
        status: 'succeeded',
        attempt: 2,
      });
      await expectCardCertificates(c.reader, rsa);
      // The retry's run chose a new PUK and stored it before giving it to the card.
      await expectStoredPuk(await session(c.reader), failed.deviceId);
      // The certificates of the failed attempt were revoked; only the new ones are valid.
      const certs = await srv.rt.services.pki.certificates.search({
        deviceId: failed.deviceId,
        limit: 50,
        offset: 0,
      });
      expect(certs.items.filter((x) => x.status === 'valid')).toHaveLength(4);
      expect(certs.items.filter((x) => x.status === 'revoked').length).toBeGreaterThan(0);
    },
  );

  it('wrong transport key: failed; Cancel unassigns the device; Recycle wipes it back to inventory', async () => {
    const c = newCard();
    const s0 = await session(c.reader);
    await s0.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    await s0.setManagementKey(Uint8Array.from(Buffer.alloc(24, 7)), 0x03);
    const job = await issue(c, ecc, { pin: '482913' });
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'card_not_blank' });
    expect(job.error!.message).toMatch(/Recycle/);
    // Retry of a card we never touched does not wipe it, and fails the same way.
    await srv.rt.services.issuance.retry.retry(admin, job.id);
    await srv.rt.services.issuance.runner.settled(job.id);
    expect((await srv.rt.services.issuance.jobs.get(job.id)).error).toMatchObject({ code: 'card_not_blank' });

    const cancelled = await srv.rt.services.issuance.cancel.cancel(admin, job.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await srv.rt.services.devices.get(job.deviceId)).toMatchObject({
      state: 'awaiting_recycle',
      userId: null,
    });
    await expect(srv.rt.services.issuance.cancel.cancel(admin, job.id)).rejects.toMatchObject({
      code: 'conflict',
    });

    const recycled = await srv.rt.services.issuance.recycle.recycle(admin, job.deviceId, c.ref);
    expect(recycled).toMatchObject({ state: 'inventory', userId: null, policyId: null });
    const s = await session(c.reader);
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    await s.verifyPin('123456');
    // A recycled card issues again.
    expect((await issue(c, ecc, { pin: '482913' })).status).toBe('succeeded');
  });

  it('recycling a failed, half-personalized card revokes its certificates and blanks it', async () => {
    const c = newCard();
    pullOutAtFirstCertificateWrite(c.reader);
    const { job } = await srv.rt.services.issuance.starter.start(admin, {
      userId: aliceId,
      card: c.ref,
      action: 'issue',
      policyId: rsa.id,
      pin: '482913',
    });
    await srv.rt.services.issuance.runner.settled(job!.id);
    const card = cards.readers.cardIn(c.reader);
    expect(card).toBeUndefined();
    expect((await srv.rt.services.issuance.jobs.get(job!.id)).status).toBe('failed');
    await expect(srv.rt.services.issuance.recycle.recycle(admin, job!.deviceId, c.ref)).rejects.toThrow();
    // Wrong card in the reader is refused.
    const other = newCard(`${c.reader} other`);
    await expect(srv.rt.services.issuance.recycle.recycle(admin, job!.deviceId, other.ref)).rejects.toThrow(
      /not/,
    );
  });

  it('the job says the card is touched before the card takes a new management key', async () => {
    await setMode('displayed');
    const c = newCard();
    const card = cards.readers.cardIn(c.reader)!;
    const transmit = card.transmit.bind(card);
    // What the database says as SET MANAGEMENT KEY (INS FF) reaches the card: a crash from here
    // on leaves a card only a wipe can reuse, so Retry must know to wipe it.
    const seen: (boolean | undefined)[] = [];
    card.transmit = async (apdu: Uint8Array) => {
      if (decodeCommand(apdu).ins === 0xff) {
        const [row] = await srv.rt.db.query<{ options: { cardTouched?: boolean } }>(
          `SELECT j.options FROM issuance_jobs j JOIN devices d ON d.id = j.device_id
            WHERE d.serial = $1 AND j.status = 'running'`,
          [c.serial],
        );
        seen.push(row?.options.cardTouched);
      }
      return transmit(apdu);
    };
    const job = await issue(c, ecc, { pin: '482913' });
    expect(job.status).toBe('succeeded');
    expect(seen).toEqual([true]);
  });

  it('a device moved away as the card gets its PIN: no part of the success is written, the job fails with the machine’s refusal', async () => {
    await setMode('displayed');
    const c = newCard();
    const card = cards.readers.cardIn(c.reader)!;
    const transmit = card.transmit.bind(card);
    // As the last command (CHANGE REFERENCE DATA of the PIN, P2 80) reaches the card, someone else
    // moves the device out of issuing: the success's one statement must write nothing.
    card.transmit = async (apdu: Uint8Array) => {
      const cmd = decodeCommand(apdu);
      if (cmd.ins === 0x24 && cmd.p2 === 0x80)
        await srv.rt.db.query(`UPDATE devices SET state = 'suspended' WHERE serial = $1`, [c.serial]);
      return transmit(apdu);
    };
    const job = await issue(c, ecc, { pin: '482913' });
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'illegal_transition' });
    expect(job.error!.message).toMatch(/"suspended" cannot succeed/);
    expect(job.progress).toBeLessThan(100);
    const device = await srv.rt.services.devices.get(job.deviceId);
    expect(device).toMatchObject({ state: 'suspended', issuedAt: null });
    const audit = await srv.rt.services.audit.list({ targetId: device.id, limit: 50, offset: 0 });
    expect(audit.items.map((e) => e.action)).not.toContain('issuance.succeeded');
    expect(audit.items[0]!.action).toBe('issuance.failed');
    // The initial PIN was not dropped; the card's read-back report is kept, as it was made.
    const pins = await srv.rt.db.query(
      `SELECT 1 FROM device_secrets WHERE device_id = $1 AND kind = 'initial_pin'`,
      [device.id],
    );
    expect(pins).toHaveLength(1);
    expect(await srv.rt.services.conformance.get(device.id)).not.toBeNull();
  });

  it('a job left running by a dead server is failed as interrupted at start-up and can be retried', async () => {
    const c = newCard();
    const device = await srv.rt.services.devices.register(admin, { serial: c.serial, type: 'piv_card' });
    await srv.rt.db.query(
      `UPDATE devices SET state = 'issuing', user_id = $1, policy_id = $2 WHERE id = $3`,
      [aliceId, ecc.id, device.id],
    );
    const [row] = await srv.rt.db.query<{ id: string }>(
      `INSERT INTO issuance_jobs (device_id, user_id, policy_id, status, progress, step, options)
       VALUES ($1, $2, $3, 'running', 40, 'Generate the key pair', $4) RETURNING id`,
      [
        device.id,
        aliceId,
        ecc.id,
        JSON.stringify({
          action: 'issue',
          pinMode: 'displayed',
          agentId: TEST_AGENT_ID,
          reader: c.reader,
          changePinAtEnd: false,
        }),
      ],
    );
    await srv.rt.db.transaction(async (tx) => {
      const { putDeviceSecret } = await import('../../src/store/device-secrets-repo.js');
      await putDeviceSecret(
        tx,
        device.id,
        'initial_pin',
        srv.rt.masterKey.encrypt('482913', `initial_pin:${device.id}`),
        new Date(),
      );
    });
    expect(await srv.rt.services.issuance.interrupted.recover()).toBe(1);
    const j = await srv.rt.services.issuance.jobs.get(row!.id);
    expect(j).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
    expect((await srv.rt.services.devices.get(device.id)).state).toBe('failed');
    await srv.rt.services.issuance.retry.retry(admin, j.id);
    await srv.rt.services.issuance.runner.settled(j.id);
    expect(await srv.rt.services.issuance.jobs.get(j.id)).toMatchObject({ status: 'succeeded' });
    const s = await session(c.reader);
    await expect(s.verifyPin('000000')).rejects.toBeInstanceOf(InvalidPinError);
    await s.verifyPin('482913');
  });

  it('a run whose attempt was failed elsewhere and retried (issue #20) writes nothing: attempt 2 is untouched', async () => {
    await setMode('displayed');
    const c = newCard();
    const card = cards.readers.cardIn(c.reader)!;
    const transmit = card.transmit.bind(card);
    // This server paused past its lease as the card gets its PIN: another server's sweep failed
    // attempt 1 and Retry started attempt 2 (the device back to issuing) before this run goes on.
    card.transmit = async (apdu: Uint8Array) => {
      const cmd = decodeCommand(apdu);
      if (cmd.ins === 0x24 && cmd.p2 === 0x80)
        await srv.rt.db.query(
          `UPDATE issuance_jobs SET attempt = attempt + 1, progress = 0, step = '', error = NULL
            WHERE status = 'running' AND device_id = (SELECT id FROM devices WHERE serial = $1)`,
          [c.serial],
        );
      return transmit(apdu);
    };
    const job = await issue(c, ecc, { pin: '482913' });
    expect(job).toMatchObject({ status: 'running', attempt: 2, progress: 0, step: '', error: null });
    const device = await srv.rt.services.devices.get(job.deviceId);
    expect(device).toMatchObject({ state: 'issuing', issuedAt: null });
    const audit = await srv.rt.services.audit.list({ targetId: device.id, limit: 50, offset: 0 });
    expect(audit.items.map((e) => e.action)).not.toContain('issuance.succeeded');
    expect(audit.items.map((e) => e.action)).not.toContain('issuance.failed');
    const pins = await srv.rt.db.query(
      `SELECT 1 FROM device_secrets WHERE device_id = $1 AND kind = 'initial_pin'`,
      [device.id],
    );
    expect(pins).toHaveLength(1);
    expect(await srv.rt.services.conformance.get(device.id)).toBeNull();
    // The certificates this run got (before the PIN, after the sweep that revoked the device's of
    // that moment) are revoked by the run itself: none stays valid for a card attempt 2 redoes.
    const certs = await srv.rt.db.query<{ status: string }>(
      'SELECT status FROM certificates WHERE device_id = $1',
      [device.id],
    );
    expect(certs.length).toBe(ecc.credentialProfiles.length);
    expect(certs.map((x) => x.status)).toEqual(certs.map(() => 'revoked'));
    // No one runs attempt 2 here: end it, so no later sweep finds it.
    await srv.rt.db.query(`UPDATE issuance_jobs SET status = 'failed', finished_at = now() WHERE id = $1`, [
      job.id,
    ]);
  });
  it('a retried run whose attempt was failed elsewhere and retried again (issue #20) keeps attempt 2’s stored PUK', async () => {
    await setMode('displayed');
    const c = newCard();
    const device = await srv.rt.services.devices.register(admin, { serial: c.serial, type: 'piv_card' });
    await srv.rt.db.query(
      `UPDATE devices SET state = 'issuing', user_id = $1, policy_id = $2 WHERE id = $3`,
      [aliceId, ecc.id, device.id],
    );
    const [row] = await srv.rt.db.query<{ id: string }>(
      `INSERT INTO issuance_jobs (device_id, user_id, policy_id, status, progress, step, options)
       VALUES ($1, $2, $3, 'running', 40, 'Generate the key pair', $4) RETURNING id`,
      [
        device.id,
        aliceId,
        ecc.id,
        JSON.stringify({ action: 'issue', pinMode: 'displayed', agentId: TEST_AGENT_ID, reader: c.reader }),
      ],
    );
    const { putDeviceSecret } = await import('../../src/store/device-secrets-repo.js');
    await putDeviceSecret(
      srv.rt.db,
      device.id,
      'initial_pin',
      srv.rt.masterKey.encrypt('482913', `initial_pin:${device.id}`),
      new Date(),
    );
    expect(await srv.rt.services.issuance.interrupted.recover()).toBe(1);
    // The retried run (no PUK from a starter: it chooses one) pauses past its lease as the card gets
    // its management key; meanwhile its attempt is failed and retried elsewhere, and that attempt
    // stores its own PUK. The paused run then reaches the PUK step: it must not replace it.
    const attempt2Puk = Buffer.from('sealed PUK of the next attempt');
    const card = cards.readers.cardIn(c.reader)!;
    const transmit = card.transmit.bind(card);
    let bumped = false;
    card.transmit = async (apdu: Uint8Array) => {
      if (!bumped && decodeCommand(apdu).ins === 0xff) {
        bumped = true;
        await srv.rt.db.query(
          `UPDATE issuance_jobs SET attempt = attempt + 1, progress = 0, step = '', error = NULL WHERE id = $1`,
          [row!.id],
        );
        await putDeviceSecret(srv.rt.db, device.id, 'puk', attempt2Puk, new Date());
      }
      return transmit(apdu);
    };
    await srv.rt.services.issuance.retry.retry(admin, row!.id);
    await srv.rt.services.issuance.runner.settled(row!.id);
    expect(bumped).toBe(true);
    const job = await srv.rt.services.issuance.jobs.get(row!.id);
    expect(job).toMatchObject({ status: 'running', attempt: 3, error: null });
    const [puk] = await srv.rt.db.query<{ value: Uint8Array }>(
      `SELECT value FROM device_secrets WHERE device_id = $1 AND kind = 'puk'`,
      [device.id],
    );
    expect(Buffer.from(puk!.value).equals(attempt2Puk)).toBe(true);
    // No one runs attempt 3 here: end it, so no later sweep finds it.
    await srv.rt.db.query(`UPDATE issuance_jobs SET status = 'failed', finished_at = now() WHERE id = $1`, [
      row!.id,
    ]);
  });
});
