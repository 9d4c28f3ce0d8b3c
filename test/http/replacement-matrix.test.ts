// Every reason × workflow × outcome of a replacement (reference 003), on a running server with
// emulated cards, on PGlite and on PostgreSQL: issued, cancelled, rejected, temporary terminated,
// temporary expired, permanent over temporary. After each, the devices' and credentials' states,
// and for every certificate the OCSP answer `openssl ocsp -url` gets from the server and its entry
// in the server's CRL (read and verified by openssl).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplacementReason } from '../../src/domain/replacement.js';
import type { RequestWorkflow } from '../../src/domain/request.js';
import { systemActor } from '../../src/services/context.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { engines } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';
import { opensslReadCrl } from '../pki/crl-reading.js';

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}
type Client = (method: string, path: string, body?: unknown) => Promise<Reply>;

const PIN = { pin: '482913', pinConfirmation: '482913' };
const DAY = 86_400_000;
const PERMANENT: ReplacementReason[] = ['damaged', 'expired', 'lost', 'stolen'];
const WORKFLOWS: RequestWorkflow[] = ['local_issuance', 'self_enrollment'];
const revokedAs = (reason: ReplacementReason) =>
  reason === 'lost' || reason === 'stolen' ? 'keyCompromise' : 'superseded';

const available = await engines();
for (const engine of ['pglite', 'postgres'] as const) {
  describe.skipIf(!hasOpenssl || !available.includes(engine))(`every replacement path on ${engine}`, () => {
    let srv: TestServer;
    const cards = new MemoryCardAccess();
    const ssl = new OpensslDir();
    let issuingId: string;
    let policyId: string;
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    const c: Record<string, Client> = {};
    const ids: Record<string, string> = {};
    let serial = engine === 'pglite' ? 51_000_000 : 52_000_000;

    const session = async (username: string, kind: 'operator' | 'portal'): Promise<Client> => {
      const user = (await srv.rt.services.users.search({ q: username, limit: 1, offset: 0 })).items[0]!;
      ids[username] = user.id;
      const s = await srv.rt.services.auth.startSession(
        await srv.rt.services.users.get(user.id),
        kind,
        'test',
      );
      const headers = { cookie: `tessera_session=${s.token}`, 'x-csrf-token': s.csrfToken };
      return async (method, path, body) => {
        const res = await fetch(`${srv.url}${path}`, {
          method,
          headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      };
    };
    const newCard = () => {
      const reader = `Reader ${++serial}`;
      cards.addCard(reader, serial);
      return { agentId: TEST_AGENT_ID, reader };
    };
    const finished = async (jobId: string) => {
      await srv.rt.services.issuance.runner.settled(jobId);
      return (await srv.rt.services.issuance.jobs.get(jobId)).status;
    };
    /** ivan issues: an ordinary card, or the replacement of a local-issuance request. */
    const issue = async (username: string, requestId?: string) => {
      const r = await c.ivan!('POST', '/api/issuance', {
        userId: ids[username],
        ...newCard(),
        action: 'issue',
        ...(requestId ? { requestId } : { policyId }),
        ...PIN,
      });
      expect(r.status).toBe(202);
      expect(await finished(r.body.job.id)).toBe('succeeded');
      return r.body.device.id as string;
    };
    /** ivan binds a card for a self-enrollment request; the person enrolls it in the portal. */
    const selfEnroll = async (username: string, requestId: string) => {
      const card = newCard();
      const bound = await c.ivan!('POST', '/api/issuance', {
        userId: ids[username],
        ...card,
        action: 'bind',
        requestId,
      });
      expect(bound.status).toBe(202);
      const r = await c[username]!('POST', '/api/portal/issuance', { ...card, requestId });
      expect(r.status).toBe(202);
      expect(await finished(r.body.job.id)).toBe('succeeded');
      return r.body.device.id as string;
    };
    const replaceWith = (username: string, workflow: RequestWorkflow, requestId: string) =>
      workflow === 'local_issuance' ? issue(username, requestId) : selfEnroll(username, requestId);

    const certsOf = async (deviceId: string) =>
      (await srv.rt.services.pki.certificates.search({ deviceId, limit: 10, offset: 0 })).items;
    const ocsp = async (certId: string) => {
      const leaf = ssl.file(`${certId}.pem`, (await srv.rt.services.pki.certificates.get(certId)).pem);
      const { out } = await ssl.runAsync([
        'ocsp',
        '-issuer',
        'issuing.pem',
        '-cert',
        leaf,
        '-url',
        `${srv.url}/pki/ocsp`,
        '-CAfile',
        'root.pem',
      ]);
      expect(out).toContain('Response verify OK');
      if (out.includes(': good')) return 'good';
      const reason = /Reason: (\w+)/.exec(out)?.[1];
      if (out.includes(': revoked')) return `revoked ${reason}`;
      throw new Error(out);
    };
    const crl = async () => {
      const res = await fetch(`${srv.url}/pki/crl/${issuingId}.crl`);
      ssl.file('cur.crl', Buffer.from(await res.arrayBuffer()));
      const read = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
      expect(read.verified).toBe(true);
      return Object.fromEntries(read.entries.map((e) => [e.serial.toLowerCase(), e.reason]));
    };
    /**
     * The device's state, its credentials' statuses, each certificate's OCSP answer and CRL entry,
     * each as the one value they all share ("good" / "absent" when not revoked).
     */
    const seen = async (deviceId: string) => {
      const list = await crl();
      const certs = await certsOf(deviceId);
      const one = (xs: string[]) => [...new Set(xs)].sort().join(', ');
      const statuses = await srv.rt.db.query<{ status: string }>(
        `SELECT c.status FROM credentials c JOIN device_credentials dc ON dc.credential_id = c.id
          WHERE dc.device_id = $1`,
        [deviceId],
      );
      const answers: string[] = [];
      for (const x of certs) answers.push(await ocsp(x.id));
      return {
        device: (await srv.rt.services.devices.get(deviceId)).state,
        credentials: one(statuses.map((s) => s.status)),
        ocsp: one(answers),
        crl: one(certs.map((x) => list[x.serial.toLowerCase()] ?? 'absent')),
      };
    };
    const ON_HOLD = {
      device: 'invalid',
      credentials: 'suspended',
      ocsp: 'revoked certificateHold',
      crl: 'certificateHold',
    };
    const GOOD = { device: 'active', credentials: 'valid', ocsp: 'good', crl: 'absent' };
    const ended = (why: string) => ({
      device: 'terminated',
      credentials: 'revoked',
      ocsp: `revoked ${why}`,
      crl: why,
    });
    const request = async (id: string) => (await c.hannah!('GET', `/api/requests/${id}`)).body;
    /** The help desk's request, or the person's declared incident approved by vera. */
    const submit = async (
      deviceId: string,
      reason: ReplacementReason,
      workflow: RequestWorkflow,
      by: 'helpdesk' | string,
    ) => {
      if (by === 'helpdesk') {
        const r = await c.hannah!('POST', `/api/devices/${deviceId}/replacement`, { reason, workflow });
        expect(r.status).toBe(201);
        return r.body;
      }
      const r = await c[by]!('POST', `/api/portal/devices/${deviceId}/incident`, { reason, workflow });
      expect(r.status).toBe(201);
      expect(r.body.state).toBe('submitted');
      return r.body;
    };

    beforeAll(async () => {
      srv = await startTestServer({ demo: true, cardAccess: cards, clock, engine });
      const pki = srv.rt.services.pki;
      issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
      const root = (await pki.cas.list()).find((x) => x.kind === 'root')!;
      ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
      ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
      const ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      const { id, demo, version, createdAt, updatedAt, ...input } = ecc;
      void [demo, version, createdAt, updatedAt];
      await srv.rt.services.policies.update(systemActor('test'), id, { ...input, temporaryValidityDays: 3 });
      policyId = id;
      for (const u of ['hannah.help', 'ivan.issuer', 'vera.valid'])
        c[u.split('.')[0]!] = await session(u, 'operator');
      for (const u of ['alice', 'bob', 'carol']) c[u] = await session(u, 'portal');
    }, 300_000);
    afterAll(async () => {
      ssl.dispose();
      await srv?.close();
    });

    describe.each(WORKFLOWS)('%s', (workflow) => {
      it.each(PERMANENT)(
        '%s: issued (help desk), cancelled, rejected (declared)',
        async (reason) => {
          // Issued: the original ends, revoked per reason; the replacement is good.
          const card = await issue('alice');
          const r = await submit(card, reason, workflow, 'helpdesk');
          expect(await seen(card)).toEqual(ON_HOLD);
          const fresh = await replaceWith('alice', workflow, r.id);
          expect(await seen(card)).toEqual(ended(revokedAs(reason)));
          expect(await seen(fresh)).toEqual(GOOD);
          expect(await request(r.id)).toMatchObject({ state: 'completed', waitingFor: null });

          // Cancelled: everything back (a bound self-enrollment card goes back to the inventory).
          const card2 = await issue('bob');
          const r2 = await submit(card2, reason, workflow, 'helpdesk');
          let boundCard: string | null = null;
          if (workflow === 'self_enrollment') {
            const b = await c.ivan!('POST', '/api/issuance', {
              userId: ids.bob,
              ...newCard(),
              action: 'bind',
              requestId: r2.id,
            });
            boundCard = b.body.device.id;
          }
          const cancelled = await c.hannah!('POST', `/api/requests/${r2.id}/cancel`, {});
          expect(cancelled.body.state).toBe('cancelled');
          expect(await seen(card2)).toEqual(GOOD);
          if (boundCard) expect((await srv.rt.services.devices.get(boundCard)).state).toBe('inventory');

          // Rejected: bob declared it, vera rejects; the card is back as it was.
          const r3 = await submit(card2, reason, workflow, 'bob');
          expect(await seen(card2)).toEqual(ON_HOLD);
          const rejected = await c.vera!('POST', `/api/requests/${r3.id}/reject`, { note: 'found it' });
          expect(rejected.body.state).toBe('rejected');
          expect(await seen(card2)).toEqual(GOOD);

          // Declared and approved, then issued the same way.
          const r4 = await submit(card2, reason, workflow, 'bob');
          expect((await c.vera!('POST', `/api/requests/${r4.id}/approve`, {})).status).toBe(200);
          const fresh2 = await replaceWith('bob', workflow, r4.id);
          expect(await seen(card2)).toEqual(ended(revokedAs(reason)));
          expect(await seen(fresh2)).toEqual(GOOD);
        },
        300_000,
      );

      it('forgotten: temporary issued, terminated when the card is found; another expires; permanent over temporary', async () => {
        const card = await issue('carol');
        const r = await submit(card, 'forgotten', workflow, 'helpdesk');
        const temp = await replaceWith('carol', workflow, r.id);
        expect(await seen(card)).toEqual(ON_HOLD);
        expect(await seen(temp)).toEqual(GOOD);
        const device = await srv.rt.services.devices.get(temp);
        expect(Date.parse(device.expiresAt!) - Date.parse(device.issuedAt!)).toBe(3 * DAY);
        expect(await request(r.id)).toMatchObject({ waitingFor: 'temporary_end', dueAt: device.expiresAt });
        // Found: the help desk ends the temporary device.
        expect((await c.hannah!('POST', `/api/devices/${temp}/terminate`, {})).status).toBe(200);
        expect(await seen(card)).toEqual(GOOD);
        expect(await seen(temp)).toEqual(ended('cessationOfOperation'));
        expect(await request(r.id)).toMatchObject({ state: 'completed' });

        // Expired: the job ends it when due.
        const r2 = await submit(card, 'forgotten', workflow, 'helpdesk');
        const temp2 = await replaceWith('carol', workflow, r2.id);
        offset = 3 * DAY + 60_000;
        try {
          expect(await srv.rt.services.replacement.expiry.runDue()).toBe(1);
        } finally {
          offset = 0;
        }
        expect(await seen(card)).toEqual(GOOD);
        // Its certificates ran out with it: a CRL made after that may drop them (RFC 5280 §3.3),
        // and which CRL the server holds depends on the moved clock; OCSP still says revoked.
        const { crl: _dropped, ...expired } = await seen(temp2);
        void _dropped;
        const { crl: _none, ...terminated } = ended('cessationOfOperation');
        void _none;
        expect(expired).toEqual(terminated);
        expect((await request(r2.id)).history.at(-1).action).toBe('request.temporary_expired');

        // Permanent over temporary: forgotten, then stolen after all.
        const r3 = await submit(card, 'forgotten', workflow, 'helpdesk');
        const temp3 = await replaceWith('carol', workflow, r3.id);
        const r4 = await submit(card, 'stolen', workflow, 'helpdesk');
        expect(r4.overRequestId).toBe(r3.id);
        expect(await seen(card)).toEqual(ON_HOLD);
        expect(await seen(temp3)).toEqual(GOOD);
        const fresh = await replaceWith('carol', workflow, r4.id);
        expect(await seen(card)).toEqual(ended('keyCompromise'));
        expect(await seen(temp3)).toEqual(ended('cessationOfOperation'));
        expect(await seen(fresh)).toEqual(GOOD);
        expect(await request(r3.id)).toMatchObject({ state: 'completed', dueAt: null });
        expect(await request(r4.id)).toMatchObject({ state: 'completed' });
      }, 300_000);
    });
  });
}
