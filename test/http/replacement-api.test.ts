// The replacement API on a running server, as scripts and the portals drive it: the help desk's
// request, the person's declared incident, the validation officer's decision, the issuance
// officer's bind, cancel, terminate, suspend / resume — with the OCSP answers asked of the server by
// `openssl ocsp -url` and its CRL downloaded and read by openssl. Who may call each route is the
// role × route test's (route-permissions.test.ts); the data rules (four-eyes, your own device) are here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/domain/permissions.js';
import { systemActor } from '../../src/services/context.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { seedBlank, seedHolder, type SeededHolder } from '../support/replacement-seed.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';
import { opensslReadCrl } from '../pki/crl-reading.js';

interface Client {
  // The replies are checked field by field with toMatchObject; typing each shape adds nothing here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

describe.skipIf(!hasOpenssl)('replacement API on a running server', () => {
  let srv: TestServer;
  const ssl = new OpensslDir();
  let issuingId: string;
  const clients: Record<string, Client> = {};
  let alice: SeededHolder;
  let bob: SeededHolder;

  const session = async (username: string, roles: Role[], kind: 'operator' | 'portal', userId?: string) => {
    const user = userId
      ? await srv.rt.services.users.get(userId)
      : await srv.rt.services.users.create(systemActor('test'), { username, displayName: username, roles });
    const s = await srv.rt.services.auth.startSession(user, kind, 'test');
    const headers = { cookie: `tessera_session=${s.token}`, 'x-csrf-token': s.csrfToken };
    return {
      async call(method: string, path: string, body?: unknown) {
        const res = await fetch(`${srv.url}${path}`, {
          method,
          headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
    };
  };

  /** openssl asks the server: "good", or "revoked <reason>". */
  const ocsp = async (cert: { id: string; pem: string }) => {
    const leaf = ssl.file(`${cert.id}.pem`, cert.pem);
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
  /** The server's CRL as openssl reads it (signature verified): serial → reason. */
  const crl = async () => {
    const res = await fetch(`${srv.url}/pki/crl/${issuingId}.crl`);
    ssl.file('cur.crl', Buffer.from(await res.arrayBuffer()));
    const read = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
    expect(read.verified).toBe(true);
    return Object.fromEntries(read.entries.map((e) => [e.serial.toLowerCase(), e.reason]));
  };

  beforeAll(async () => {
    srv = await startTestServer();
    const pki = srv.rt.services.pki;
    issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
    const root = (await pki.cas.list()).find((c) => c.kind === 'root')!;
    ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
    ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
    ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
    alice = await seedHolder(srv.rt.db, pki, 'alice', new Date());
    bob = await seedHolder(srv.rt.db, pki, 'bob', new Date(), alice.policyId);
    clients.hal = await session('hal.helpdesk', ['helpdesk'], 'operator');
    clients.vera = await session('vera.valid', ['validation_officer'], 'operator');
    clients.ivan = await session('ivan.issuer', ['issuance_officer'], 'operator');
    clients.ada = await session('ada.admin', ['admin'], 'operator');
    clients.bob = await session('', [], 'portal', bob.userId);
    clients.bobOperator = await session('', [], 'operator', bob.userId);
  }, 180_000);
  afterAll(async () => {
    ssl.dispose();
    await srv?.close();
  });

  it('help desk: a lost card is on hold at the CA at once; cancelling releases it', async () => {
    const made = await clients.hal!.call('POST', `/api/devices/${alice.cardId}/replacement`, {
      reason: 'lost',
      workflow: 'local_issuance',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      state: 'approved',
      type: 'permanent',
      targetSerial: expect.any(String),
    });
    expect(await ocsp(alice.certs.auth)).toBe('revoked certificateHold');
    expect(await ocsp(alice.certs.km)).toBe('revoked certificateHold');
    expect(await ocsp(alice.certs.phoneOnly)).toBe('good');
    expect(await crl()).toEqual({
      [alice.certs.auth.serial]: 'certificateHold',
      [alice.certs.km.serial]: 'certificateHold',
    });
    const holds = await clients.hal!.call('GET', `/api/devices/${alice.cardId}/holds`);
    expect(holds.body.requests[0]).toMatchObject({
      number: made.body.number,
      role: 'original',
      state: 'approved',
    });
    // The certificate route cannot lift the request's hold.
    const reinstate = await clients.ada!.call(
      'POST',
      `/api/certificates/${alice.certs.auth.id}/reinstate`,
      {},
    );
    expect(reinstate.status).toBe(409);
    expect(reinstate.body.error.message).toContain(`replacement request #${made.body.number}`);

    const cancelled = await clients.hal!.call('POST', `/api/requests/${made.body.id}/cancel`, {
      version: made.body.version,
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.history.map((h: { action: string }) => h.action)).toEqual([
      'request.submitted',
      'request.cancelled',
    ]);
    expect(await ocsp(alice.certs.auth)).toBe('good');
    expect(await crl()).toEqual({});
  });

  it('bob declares his card stolen; vera approves (not bob); ivan binds; a second bind is a 409', async () => {
    const declared = await clients.bob!.call('POST', `/api/portal/devices/${bob.cardId}/incident`, {
      reason: 'stolen',
    });
    expect(declared.status).toBe(201);
    expect(declared.body).toMatchObject({ state: 'submitted', workflow: 'self_enrollment' });
    expect(await ocsp(bob.certs.auth)).toBe('revoked certificateHold');
    // Someone else's device is not found from the portal.
    const foreign = await clients.bob!.call('POST', `/api/portal/devices/${alice.cardId}/incident`, {
      reason: 'lost',
    });
    expect(foreign.status).toBe(404);
    const mine = await clients.bob!.call('GET', '/api/portal/requests');
    expect(mine.body.items.map((r: { id: string }) => r.id)).toEqual([declared.body.id]);

    const queue = await clients.vera!.call('GET', `/api/requests?state=submitted&kind=replacement`);
    expect(queue.body.items.map((r: { id: string }) => r.id)).toContain(declared.body.id);
    const byHelpdesk = await clients.hal!.call('POST', `/api/requests/${declared.body.id}/approve`, {});
    expect(byHelpdesk.status).toBe(403);
    const approved = await clients.vera!.call('POST', `/api/requests/${declared.body.id}/approve`, {
      version: declared.body.version,
    });
    expect(approved.status).toBe(200);
    expect(approved.body.names.approvedBy).toBe('vera.valid');
    const twice = await clients.vera!.call('POST', `/api/requests/${declared.body.id}/approve`, {});
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toMatch(/was approved by vera\.valid/);

    const [b1, b2] = [await seedBlank(srv.rt.db), await seedBlank(srv.rt.db)];
    const bound = await clients.ivan!.call('POST', `/api/requests/${declared.body.id}/bind`, {
      deviceId: b1,
    });
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({ state: 'bound', replacementDeviceId: b1 });
    const again = await clients.ivan!.call('POST', `/api/requests/${declared.body.id}/bind`, {
      deviceId: b2,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already has its replacement device/);
  });

  it('four-eyes over HTTP: a request for your own device waits, and you cannot approve it', async () => {
    const veraId = (await srv.rt.services.users.search({ q: 'vera.valid', limit: 1, offset: 0 })).items[0]!
      .id;
    const own = await seedHolder(srv.rt.db, srv.rt.services.pki, 'own', new Date(), alice.policyId);
    await srv.rt.db.query('UPDATE devices SET user_id = $1 WHERE id = $2', [veraId, own.phoneId]);
    await srv.rt.db.query('UPDATE credentials SET user_id = $1 WHERE id = ANY($2::uuid[])', [
      veraId,
      [own.credentials.phoneOnly, own.credentials.km],
    ]);
    const veraAsHelpdesk = await session('vera.helpdesk', ['helpdesk', 'validation_officer'], 'operator');
    const mine = await veraAsHelpdesk.call('POST', `/api/devices/${own.phoneId}/replacement`, {
      reason: 'damaged',
      workflow: 'local_issuance',
    });
    expect(mine.status).toBe(201);
    const r = await veraAsHelpdesk.call('POST', `/api/requests/${mine.body.id}/approve`, {});
    expect(r.status).toBe(409);
  });

  it('suspend device / resume: OCSP answers certificateHold, then good', async () => {
    const s = await clients.hal!.call('POST', `/api/devices/${alice.cardId}/suspend`, {
      note: 'reported missing',
    });
    expect(s.status).toBe(200);
    expect(s.body.state).toBe('suspended');
    expect(await ocsp(alice.certs.auth)).toBe('revoked certificateHold');
    expect((await crl())[alice.certs.auth.serial]).toBe('certificateHold');
    const r = await clients.vera!.call('POST', `/api/devices/${alice.cardId}/resume`, {});
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('active');
    expect(await ocsp(alice.certs.auth)).toBe('good');
    const portalTry = await clients.bob!.call('POST', `/api/devices/${bob.phoneId}/suspend`, {});
    expect(portalTry.status).toBe(403);
  });

  it('terminate: only a temporary device, or any device by an administrator', async () => {
    const refused = await clients.hal!.call('POST', `/api/devices/${alice.phoneId}/terminate`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/administrator/);
    const ended = await clients.ada!.call('POST', `/api/devices/${alice.phoneId}/terminate`, {});
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ device: { state: 'terminated' }, request: null });
    expect(await ocsp(alice.certs.phoneOnly)).toBe('revoked cessationOfOperation');
    expect(await ocsp(alice.certs.km)).toBe('good'); // still on her card
  });

  it('remote issuance: accepted for a phone, refused for a card; the request waits for the phone enrolment, nothing else completes it', async () => {
    const rita = await seedHolder(srv.rt.db, srv.rt.services.pki, 'rita', new Date(), alice.policyId);
    const forCard = await clients.hal!.call('POST', `/api/devices/${rita.cardId}/replacement`, {
      reason: 'lost',
      workflow: 'remote_issuance',
    });
    expect(forCard.status).toBe(400);
    expect(forCard.body.error.message).toMatch(/only available for mobile smart cards/);
    const made = await clients.hal!.call('POST', `/api/devices/${rita.phoneId}/replacement`, {
      reason: 'lost',
      workflow: 'remote_issuance',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ state: 'approved', waitingFor: 'phone_enrolment' });
    expect(await ocsp(rita.certs.phoneOnly)).toBe('revoked certificateHold');
    const bind = await clients.ivan!.call('POST', `/api/requests/${made.body.id}/bind`, {
      deviceId: await seedBlank(srv.rt.db, 'mobile'),
    });
    expect(bind.status).toBe(409);
    expect(bind.body.error.message).toMatch(/issued remotely/);
    // No card issuance completes it (the reader is not even looked at: the request refuses first).
    const issue = await clients.ivan!.call('POST', '/api/issuance', {
      userId: rita.userId,
      agentId: '11111111-1111-4111-8111-111111111111',
      reader: 'none',
      action: 'issue',
      requestId: made.body.id,
    });
    expect(issue.status).toBe(409);
    expect(issue.body.error.message).toMatch(/waits for that enrolment/);
    const still = await clients.hal!.call('GET', `/api/requests/${made.body.id}`);
    expect(still.body).toMatchObject({ state: 'approved', waitingFor: 'phone_enrolment' });
    const cancelled = await clients.hal!.call('POST', `/api/requests/${made.body.id}/cancel`, {});
    expect(cancelled.body).toMatchObject({ state: 'cancelled', waitingFor: null });
    expect(await ocsp(rita.certs.phoneOnly)).toBe('good');
  });
});
