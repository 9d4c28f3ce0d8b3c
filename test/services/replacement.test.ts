// Replacement (reference 003) and device suspension as use cases, on PGlite and PostgreSQL, with
// the real CA: each step's device states, credential states and holds, the OCSP answer for every
// certificate and the CRL judged by openssl, and the audit chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { createReplacement, type Replacement } from '../../src/services/replacement/replacement.js';
import { verifyAudit } from '../../src/store/audit-repo.js';
import { PERMISSIONS } from '../../src/domain/permissions.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { seedBlank, seedHolder, seedUser, type SeededHolder } from '../support/replacement-seed.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';
import { opensslReadCrl } from '../pki/crl-reading.js';
import { testPki } from '../pki/fixtures.js';

const available = await engines();
for (const engine of ['pglite', 'postgres'] as const) {
  describe.skipIf(!hasOpenssl || !available.includes(engine))(`replacement use cases on ${engine}`, () => {
    const ssl = new OpensslDir();
    let t: TestDb;
    let pki: Pki;
    let rep: Replacement;
    let issuingId: string;
    // The real time, moved on by a second per step: openssl checks the OCSP answers' validity
    // against its own clock (a few minutes' leeway), so the CA must sign near it.
    let now = new Date();
    const clock = { now: () => now };
    let helpdesk: Actor;
    let vera: Actor;
    let admin: Actor;
    const actor = (id: string, name: string, perms: readonly string[]): Actor => ({
      id,
      name,
      roles: [],
      permissions: perms as Actor['permissions'],
    });

    beforeAll(async () => {
      t = await openTestDb(engine);
      pki = testPki(t.db, clock);
      issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
      rep = createReplacement({ db: t.db, clock, revocation: pki.revocation });
      const root = (await pki.cas.list()).find((c) => c.kind === 'root')!;
      ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
      ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
      helpdesk = actor(await seedUser(t.db, 'hal', ['helpdesk']), 'hal', [
        'request.submit',
        'device.bind',
        'certificate.suspend',
      ]);
      vera = actor(await seedUser(t.db, 'vera', ['validation_officer']), 'vera', ['request.approve']);
      admin = actor(await seedUser(t.db, 'ada', ['admin']), 'ada', PERMISSIONS);
    }, 120_000);
    afterAll(async () => {
      ssl.dispose();
      await t?.drop();
    });

    /** openssl's verdict on a certificate: "good", "revoked certificateHold", "revoked keyCompromise"… */
    const ocsp = async (cert: { id: string; pem: string }) => {
      const leaf = ssl.file(`${cert.id}.pem`, cert.pem);
      const out = ssl.ocspReading(await pki.ocsp.respond(ssl.ocspRequest('issuing.pem', leaf)), {
        issuer: 'issuing.pem',
        leaf,
        caFile: 'root.pem',
      });
      expect(out).toContain('Response verify OK');
      if (/: good/.test(out)) return 'good';
      const reason = /Reason: (\w+)/.exec(out)?.[1];
      if (/: revoked/.test(out)) return `revoked ${reason}`;
      throw new Error(out);
    };
    /** The CRL's entries as openssl reads them: serial → reason. */
    const crl = async () => {
      ssl.file('cur.crl', await pki.crls.current(issuingId));
      const read = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
      expect(read.verified).toBe(true);
      return Object.fromEntries(read.entries.map((e) => [e.serial.toLowerCase(), e.reason]));
    };
    const state = async (deviceId: string) =>
      (await t.db.query<{ state: string }>('SELECT state FROM devices WHERE id = $1', [deviceId]))[0]!.state;
    const status = async (credentialId: string) =>
      (
        await t.db.query<{ status: string }>('SELECT status FROM credentials WHERE id = $1', [credentialId])
      )[0]!.status;
    const tick = () => (now = new Date(now.getTime() + 1000));

    let alice: SeededHolder;
    beforeAll(async () => {
      alice = await seedHolder(t.db, pki, 'alice', now);
    }, 60_000);

    it('a lost card: the card is invalid, its credentials on hold (the shared one too), OCSP and CRL say certificateHold', async () => {
      const r = await rep.submit.request(helpdesk, alice.cardId, {
        reason: 'lost',
        workflow: 'local_issuance',
      });
      expect(r).toMatchObject({
        state: 'approved',
        type: 'permanent',
        reason: 'lost',
        approvedBy: helpdesk.id,
      });
      expect(await state(alice.cardId)).toBe('invalid');
      expect(await state(alice.phoneId)).toBe('active'); // the phone itself is not replaced
      expect(await status(alice.credentials.auth)).toBe('suspended');
      expect(await status(alice.credentials.km)).toBe('suspended'); // shared with the phone
      expect(await status(alice.credentials.phoneOnly)).toBe('valid');
      expect(await ocsp(alice.certs.auth)).toBe('revoked certificateHold');
      expect(await ocsp(alice.certs.km)).toBe('revoked certificateHold');
      expect(await ocsp(alice.certs.phoneOnly)).toBe('good');
      expect(await crl()).toEqual({
        [alice.certs.auth.serial]: 'certificateHold',
        [alice.certs.km.serial]: 'certificateHold',
      });
      // A second request for the same card is refused, naming the first.
      await expect(
        rep.submit.request(helpdesk, alice.cardId, { reason: 'stolen', workflow: 'local_issuance' }),
      ).rejects.toThrow(new RegExp(`already being replaced \\(request #${r.number}`));
      // The hold cannot be lifted around the request.
      await expect(pki.revocation.reinstate(admin, alice.certs.auth.id)).rejects.toThrow(
        new RegExp(`on hold for replacement request #${r.number}`),
      );

      tick();
      const cancelled = await rep.cancel.cancel(helpdesk, r.id);
      expect(cancelled.state).toBe('cancelled');
      expect(await state(alice.cardId)).toBe('active');
      expect(await status(alice.credentials.auth)).toBe('valid');
      expect(await status(alice.credentials.km)).toBe('valid');
      expect(await ocsp(alice.certs.auth)).toBe('good');
      expect(await ocsp(alice.certs.km)).toBe('good');
      expect(await crl()).toEqual({});
      await expect(rep.cancel.cancel(helpdesk, r.id)).rejects.toThrow(
        /Request #\d+ was cancelled by hal_\w+: it can no longer be cancelled/,
      );
      const detail = await rep.queries.get(r.id);
      expect(detail.history.map((h) => `${h.action} by ${h.actorName}`)).toEqual([
        'request.submitted by hal',
        'request.cancelled by hal',
      ]);
      expect(detail.heldCredentialIds.sort()).toEqual([alice.credentials.auth, alice.credentials.km].sort());
      expect((await verifyAudit(t.db)).ok).toBe(true);
    });

    it('cancelling never lifts a hold made for another reason (by hand at the CA)', async () => {
      const bob = await seedHolder(t.db, pki, 'bob', now);
      await pki.revocation.suspend(admin, bob.certs.km.id); // held by hand, before the request
      const r = await rep.submit.request(helpdesk, bob.cardId, {
        reason: 'damaged',
        workflow: 'self_enrollment',
      });
      expect(await status(bob.credentials.auth)).toBe('suspended');
      tick();
      await rep.cancel.cancel(helpdesk, r.id);
      expect(await status(bob.credentials.auth)).toBe('valid');
      expect(await status(bob.credentials.km)).toBe('suspended');
      expect(await ocsp(bob.certs.km)).toBe('revoked certificateHold');
      expect(await ocsp(bob.certs.auth)).toBe('good');
    });

    it('a declared incident waits for a validation officer; four-eyes; rejecting restores the original', async () => {
      const carol = await seedHolder(t.db, pki, 'carol', now);
      const person = actor(carol.userId, carol.username, ['self.incident']);
      const other = await seedHolder(t.db, pki, 'dave', now);
      await expect(
        rep.submit.declareIncident(person, other.cardId, { reason: 'stolen' }),
      ).rejects.toMatchObject({ code: 'not_found' }); // not her device
      const r = await rep.submit.declareIncident(person, carol.cardId, { reason: 'stolen' });
      expect(r).toMatchObject({ state: 'submitted', workflow: 'self_enrollment', submittedBy: carol.userId });
      expect(await ocsp(carol.certs.auth)).toBe('revoked certificateHold');
      // The person cannot approve her own request, even as a validation officer.
      await expect(rep.decide.approve({ ...vera, id: carol.userId }, r.id)).rejects.toThrow(
        /your own device/,
      );
      // A validation officer who submitted a request for someone cannot approve it either.
      const own = await rep.submit.request(vera, other.cardId, {
        reason: 'damaged',
        workflow: 'local_issuance',
      });
      expect(own.state).toBe('approved'); // an operator's request is approved at once…
      const selfReq = await rep.submit.request({ ...helpdesk, id: other.userId }, other.phoneId, {
        reason: 'damaged',
        workflow: 'local_issuance',
      });
      expect(selfReq.state).toBe('submitted'); // …unless it is for the operator's own device
      await expect(rep.decide.approve({ ...vera, id: other.userId }, selfReq.id)).rejects.toThrow(
        /own device/,
      );
      await expect(rep.decide.approve({ ...helpdesk, id: other.userId }, selfReq.id)).rejects.toThrow();
      tick();
      const rejected = await rep.decide.reject(vera, r.id, { note: 'found in the office' });
      expect(rejected.state).toBe('rejected');
      expect(await state(carol.cardId)).toBe('active');
      expect(await ocsp(carol.certs.auth)).toBe('good');
      await expect(rep.decide.approve(vera, r.id)).rejects.toThrow(/was rejected by vera_\w+/);
      // A decision on a version that is no longer current is refused, saying what happened.
      const again = await rep.submit.declareIncident(person, carol.cardId, { reason: 'lost' });
      await rep.decide.approve(vera, again.id, { version: again.version });
      await expect(rep.cancel.cancel(helpdesk, again.id, { version: again.version })).rejects.toThrow(
        /was approved by vera_\w+ while you were looking at it/,
      );
    });

    it('bind for self-enrollment; the second bind is told which device; cancelling unbinds it', async () => {
      const erin = await seedHolder(t.db, pki, 'erin', now);
      const blank1 = await seedBlank(t.db);
      const blank2 = await seedBlank(t.db);
      const r = await rep.submit.request(helpdesk, erin.cardId, {
        reason: 'expired',
        workflow: 'self_enrollment',
      });
      await expect(rep.bind.bind({ ...helpdesk, id: erin.userId }, r.id, blank1)).rejects.toThrow(
        /to yourself/,
      );
      const bound = await rep.bind.bind(helpdesk, r.id, blank1);
      expect(bound).toMatchObject({ state: 'bound', replacementDeviceId: blank1 });
      expect(await state(blank1)).toBe('bound');
      await expect(rep.bind.bind(helpdesk, r.id, blank2)).rejects.toThrow(
        /already has its replacement device BLANK/,
      );
      await rep.cancel.cancel(helpdesk, r.id);
      expect(await state(blank1)).toBe('inventory');
      const [u] = await t.db.query<{ user_id: string | null }>('SELECT user_id FROM devices WHERE id = $1', [
        blank1,
      ]);
      expect(u!.user_id).toBeNull();
      expect(await state(erin.cardId)).toBe('active');
    });

    it('remote issuance is for phones only, and the request waits for the phone', async () => {
      const fay = await seedHolder(t.db, pki, 'fay', now);
      await expect(
        rep.submit.request(helpdesk, fay.cardId, { reason: 'lost', workflow: 'remote_issuance' }),
      ).rejects.toThrow(/only available for mobile smart cards/);
      const r = await rep.submit.request(helpdesk, fay.phoneId, {
        reason: 'lost',
        workflow: 'remote_issuance',
      });
      expect(r).toMatchObject({ state: 'approved', workflow: 'remote_issuance', replacementDeviceId: null });
      // the card shares km with the phone: it is on hold with it, while the card's own stays good
      expect(await ocsp(fay.certs.km)).toBe('revoked certificateHold');
      expect(await ocsp(fay.certs.auth)).toBe('good');
      await expect(rep.bind.bind(helpdesk, r.id, await seedBlank(t.db, 'mobile'))).rejects.toThrow(
        /issued remotely to the person’s phone/,
      );
    });

    it('suspend device / resume, and a replacement of a suspended device gives it back suspended', async () => {
      const gus = await seedHolder(t.db, pki, 'gus', now);
      const suspended = await rep.suspension.suspend(helpdesk, gus.cardId, 'called: card missing');
      expect(suspended.state).toBe('suspended');
      expect(await ocsp(gus.certs.auth)).toBe('revoked certificateHold');
      expect(await ocsp(gus.certs.km)).toBe('revoked certificateHold');
      await expect(pki.revocation.reinstate(admin, gus.certs.auth.id)).rejects.toThrow(/a device suspension/);
      const r = await rep.submit.request(helpdesk, gus.cardId, {
        reason: 'lost',
        workflow: 'local_issuance',
      });
      const holds = await rep.queries.deviceHolds(gus.cardId);
      expect(holds.state).toBe('invalid');
      expect(holds.suspension?.note).toBe('called: card missing');
      expect(holds.credentials.find((c) => c.id === gus.credentials.auth)!.holds).toEqual([
        { requestId: null, requestNumber: null, deviceSuspension: true },
        { requestId: r.id, requestNumber: r.number, deviceSuspension: false },
      ]);
      tick();
      await rep.cancel.cancel(helpdesk, r.id);
      expect(await state(gus.cardId)).toBe('suspended'); // the suspension still holds it
      expect(await ocsp(gus.certs.auth)).toBe('revoked certificateHold');
      tick();
      const resumed = await rep.suspension.resume(helpdesk, gus.cardId);
      expect(resumed.state).toBe('active');
      expect(await ocsp(gus.certs.auth)).toBe('good');
      expect(await ocsp(gus.certs.km)).toBe('good');
      await expect(rep.suspension.resume(helpdesk, gus.cardId)).rejects.toThrow(/not suspended/);
    });

    it('a temporary device: terminated when the card is found; another ends by itself when due', async () => {
      for (const how of ['terminate', 'expire'] as const) {
        const hal = await seedHolder(t.db, pki, `hank_${how}`, now);
        const temp = await seedBlank(t.db);
        const r = await rep.submit.request(helpdesk, hal.cardId, {
          reason: 'forgotten',
          workflow: 'self_enrollment',
          replacementDeviceId: temp,
        });
        expect(r).toMatchObject({ type: 'temporary', state: 'bound', replacementDeviceId: temp });
        // Issued as issuance leaves a device: active, with its own certificate, due in 3 days.
        await t.db.query(`UPDATE devices SET state = 'active' WHERE id = $1`, [temp]);
        const { seedCredential } = await import('../support/replacement-seed.js');
        const tempCred = await seedCredential(t.db, pki, {
          userId: hal.userId,
          username: hal.username,
          deviceId: temp,
          policyId: hal.policyId,
          slot: '9a',
          at: now,
        });
        await t.db.query(`UPDATE requests SET due_at = $2 WHERE id = $1`, [
          r.id,
          new Date(now.getTime() + 3 * 86400_000),
        ]);
        if (how === 'terminate') {
          await expect(rep.terminate.terminate(vera, hal.cardId)).rejects.toThrow(/administrator/);
          tick();
          const out = await rep.terminate.terminate(helpdesk, temp);
          expect(out.request?.state).toBe('completed');
        } else {
          expect(await rep.expiry.runDue()).toBe(0); // not due yet
          // Three days later (the due time moved back, not the clock: see `now`).
          await t.db.query(`UPDATE requests SET due_at = $2 WHERE id = $1`, [
            r.id,
            new Date(now.getTime() - 1000),
          ]);
          expect(await rep.expiry.runDue()).toBe(1);
          expect(await rep.expiry.runDue()).toBe(0);
          const detail = await rep.queries.get(r.id);
          expect(detail.history.at(-1)).toMatchObject({
            action: 'request.temporary_expired',
            actorName: 'temporary-device expiry',
          });
        }
        expect(await state(temp)).toBe('terminated');
        expect(await state(hal.cardId)).toBe('active');
        expect(await ocsp(tempCred.cert)).toBe('revoked cessationOfOperation');
        expect(await ocsp(hal.certs.auth)).toBe('good');
        expect(await ocsp(hal.certs.km)).toBe('good');
      }
    });

    it('permanent over temporary: the permanent request joins the holds; cancelling it leaves the temporary one in force', async () => {
      const ivy = await seedHolder(t.db, pki, 'ivy', now);
      const temp = await seedBlank(t.db);
      const tr = await rep.submit.request(helpdesk, ivy.cardId, {
        reason: 'forgotten',
        workflow: 'self_enrollment',
        replacementDeviceId: temp,
      });
      await expect(
        rep.submit.request(helpdesk, ivy.cardId, { reason: 'forgotten', workflow: 'local_issuance' }),
      ).rejects.toThrow(/already has a temporary replacement/);
      const pr = await rep.submit.request(helpdesk, ivy.cardId, {
        reason: 'lost',
        workflow: 'local_issuance',
      });
      expect(pr.overRequestId).toBe(tr.id);
      const holds = await rep.queries.deviceHolds(ivy.cardId);
      expect(
        holds.credentials.find((c) => c.id === ivy.credentials.auth)!.holds.map((h) => h.requestNumber),
      ).toEqual([tr.number, pr.number]);
      tick();
      await rep.cancel.cancel(helpdesk, pr.id);
      expect(await state(ivy.cardId)).toBe('invalid'); // still the temporary request's
      expect(await ocsp(ivy.certs.auth)).toBe('revoked certificateHold');
      tick();
      await rep.cancel.cancel(helpdesk, tr.id);
      expect(await state(ivy.cardId)).toBe('active');
      expect(await state(temp)).toBe('inventory');
      expect(await ocsp(ivy.certs.auth)).toBe('good');
    });

    it('an administrator terminates any device; a shared credential lives on on the other device', async () => {
      const jo = await seedHolder(t.db, pki, 'jo', now);
      await expect(rep.terminate.terminate(helpdesk, jo.cardId)).rejects.toThrow(/administrator/);
      tick();
      await rep.terminate.terminate(admin, jo.cardId);
      expect(await state(jo.cardId)).toBe('terminated');
      expect(await ocsp(jo.certs.auth)).toBe('revoked cessationOfOperation');
      expect(await ocsp(jo.certs.km)).toBe('good'); // still on the phone
      expect((await verifyAudit(t.db)).ok).toBe(true);
    });
  });
}
