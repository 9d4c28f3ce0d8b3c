// Issuing a replacement from its request, on a running server with emulated cards (real APDUs,
// the real CA): the issuance officer's local issuance (POST /api/issuance with requestId), the
// person's self-enrollment in the portal (POST /api/portal/issuance), a temporary device with its
// policy's short validity and its due time, permanent over temporary, the temporary device's
// expiry — each certificate's status asked of the server by `openssl ocsp -url`, and its CRL read
// by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/context.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, opensslValidity, toPem } from '../pki/openssl.js';
import { opensslReadCrl } from '../pki/crl-reading.js';

interface Reply {
  status: number;
  // The replies are checked field by field with toMatchObject; typing each shape adds nothing here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}
type Client = (method: string, path: string, body?: unknown) => Promise<Reply>;

const DAY = 86_400_000;

describe.skipIf(!hasOpenssl)('issuing a replacement from its request', () => {
  let srv: TestServer;
  const cards = new MemoryCardAccess();
  const ssl = new OpensslDir();
  let issuingId: string;
  let policyId: string;
  // Near the real time (openssl judges the OCSP answers' validity by its own clock); moved on
  // only to let a temporary device run out.
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const c: Record<string, Client> = {};
  const ids: Record<string, string> = {};
  let serial = 31_000_000;

  const session = async (username: string, kind: 'operator' | 'portal'): Promise<Client> => {
    const user = (await srv.rt.services.users.search({ q: username, limit: 1, offset: 0 })).items[0]!;
    ids[username] = user.id;
    const s = await srv.rt.services.auth.startSession(await srv.rt.services.users.get(user.id), kind, 'test');
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

  /** A blank card in a reader of its own. */
  const newCard = () => {
    const reader = `Reader ${++serial}`;
    cards.addCard(reader, serial);
    return { agentId: TEST_AGENT_ID, reader };
  };
  const PIN = { pin: '482913', pinConfirmation: '482913' };

  /** Waits for the job's end and returns it. */
  const finished = async (jobId: string) => {
    await srv.rt.services.issuance.runner.settled(jobId);
    return srv.rt.services.issuance.jobs.get(jobId);
  };

  /** An active card for the person, issued by ivan as any card is. */
  const issueCard = async (username: string) => {
    const r = await c.ivan!('POST', '/api/issuance', {
      userId: ids[username],
      ...newCard(),
      action: 'issue',
      policyId,
      ...PIN,
    });
    expect(r.status).toBe(202);
    expect((await finished(r.body.job.id)).status).toBe('succeeded');
    return r.body.device.id as string;
  };

  const certsOf = async (deviceId: string) =>
    (await srv.rt.services.pki.certificates.search({ deviceId, limit: 10, offset: 0 })).items;
  const pemOf = async (id: string) => (await srv.rt.services.pki.certificates.get(id)).pem;
  const deviceState = async (id: string) => (await srv.rt.services.devices.get(id)).state;

  /** openssl asks the server: "good", or "revoked <reason>". */
  const ocsp = async (certId: string) => {
    const leaf = ssl.file(`${certId}.pem`, await pemOf(certId));
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
  /** What openssl says of every certificate of the device (one answer when they all agree). */
  const ocspAll = async (deviceId: string) => {
    const answers = new Set<string>();
    for (const cert of await certsOf(deviceId)) answers.add(await ocsp(cert.id));
    return [...answers].sort().join(', ');
  };
  /** The server's CRL as openssl reads it (signature verified): serial → reason. */
  const crl = async () => {
    const res = await fetch(`${srv.url}/pki/crl/${issuingId}.crl`);
    ssl.file('cur.crl', Buffer.from(await res.arrayBuffer()));
    const read = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
    expect(read.verified).toBe(true);
    return Object.fromEntries(read.entries.map((e) => [e.serial.toLowerCase(), e.reason]));
  };
  const onCrl = async (deviceId: string) => {
    const list = await crl();
    return [...new Set((await certsOf(deviceId)).map((x) => list[x.serial.toLowerCase()] ?? 'absent'))]
      .sort()
      .join(', ');
  };

  beforeAll(async () => {
    srv = await startTestServer({ demo: true, cardAccess: cards, clock });
    const pki = srv.rt.services.pki;
    issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
    const root = (await pki.cas.list()).find((x) => x.kind === 'root')!;
    ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
    ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
    ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
    const ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
    // A temporary device of this policy lives two days.
    const { id, demo, version, createdAt, updatedAt, ...input } = ecc;
    void [demo, version, createdAt, updatedAt];
    await srv.rt.services.policies.update(systemActor('test'), id, { ...input, temporaryValidityDays: 2 });
    policyId = id;
    for (const u of ['hannah.help', 'ivan.issuer', 'vera.valid', 'admin'])
      c[u.split('.')[0]!] = await session(u, 'operator');
    for (const u of ['alice', 'bob', 'carol']) c[u] = await session(u, 'portal');
  }, 180_000);
  afterAll(async () => {
    ssl.dispose();
    await srv?.close();
  });

  it('lost, local issuance: ivan issues the replacement with the request id; the lost card ends, revoked as compromised', async () => {
    const old = await issueCard('alice');
    const made = await c.hannah!('POST', `/api/devices/${old}/replacement`, {
      reason: 'lost',
      workflow: 'local_issuance',
    });
    expect(made.status).toBe(201);
    expect(made.body.waitingFor).toBe('issuance');
    expect(await ocspAll(old)).toBe('revoked certificateHold');

    // Not for a self-enrollment route, nor by the person, nor with another policy.
    const card = newCard();
    const fromPortal = await c.alice!('POST', '/api/portal/issuance', { ...card, requestId: made.body.id });
    expect(fromPortal.status).toBe(409);
    const start = await c.ivan!('POST', '/api/issuance', {
      userId: ids.alice,
      ...card,
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect(start.status).toBe(202);
    expect(start.body.job).toMatchObject({ status: 'running' });
    expect((await finished(start.body.job.id)).status).toBe('succeeded');

    const after = await c.hannah!('GET', `/api/requests/${made.body.id}`);
    expect(after.body).toMatchObject({
      state: 'completed',
      waitingFor: null,
      replacementDeviceId: start.body.device.id,
    });
    expect(after.body.history.map((h: { action: string }) => h.action)).toEqual([
      'request.submitted',
      'request.issuance_started',
      'request.completed',
    ]);
    expect(await deviceState(old)).toBe('terminated');
    expect(await deviceState(start.body.device.id)).toBe('active');
    expect(await ocspAll(old)).toBe('revoked keyCompromise');
    expect(await onCrl(old)).toBe('keyCompromise');
    expect(await ocspAll(start.body.device.id)).toBe('good');
    expect(await onCrl(start.body.device.id)).toBe('absent');
    const creds = await srv.rt.services.devices.get(old);
    expect(creds.state).toBe('terminated');

    // Done is done: a second issuance for the request is refused, saying why.
    const again = await c.ivan!('POST', '/api/issuance', {
      userId: ids.alice,
      ...newCard(),
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/was completed by ivan\.issuer: there is nothing left to issue/);
  });

  it('damaged, self-enrollment: ivan binds the card from the reader, bob enrolls it in the portal; the old card is superseded', async () => {
    const old = await issueCard('bob');
    const made = await c.hannah!('POST', `/api/devices/${old}/replacement`, {
      reason: 'damaged',
      workflow: 'self_enrollment',
    });
    expect(made.status).toBe(201);
    expect(made.body.waitingFor).toBe('binding');
    const card = newCard();
    // The officer cannot personalize a self-enrollment request's card himself.
    const issueIt = await c.ivan!('POST', '/api/issuance', {
      userId: ids.bob,
      ...card,
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect(issueIt.status).toBe(409);
    expect(issueIt.body.error.message).toMatch(/self-enrollment/);
    const bound = await c.ivan!('POST', '/api/issuance', {
      userId: ids.bob,
      ...card,
      action: 'bind',
      requestId: made.body.id,
    });
    expect(bound.status).toBe(202);
    expect(bound.body).toMatchObject({ device: { state: 'bound', userId: ids.bob }, job: null });
    expect((await c.hannah!('GET', `/api/requests/${made.body.id}`)).body).toMatchObject({
      state: 'bound',
      waitingFor: 'self_enrollment',
      replacementDeviceId: bound.body.device.id,
    });
    // Another card than the bound one does not serve the request.
    const wrong = await c.bob!('POST', '/api/portal/issuance', { ...newCard(), requestId: made.body.id });
    expect(wrong.status).toBe(409);

    // Bob enrolls the bound card; the request is found from the card.
    const enrolled = await c.bob!('POST', '/api/portal/issuance', card);
    expect(enrolled.status).toBe(202);
    expect((await finished(enrolled.body.job.id)).status).toBe('succeeded');
    expect((await c.hannah!('GET', `/api/requests/${made.body.id}`)).body).toMatchObject({
      state: 'completed',
      names: { completedBy: 'bob' },
    });
    expect(await deviceState(old)).toBe('terminated');
    expect(await ocspAll(old)).toBe('revoked superseded');
    expect(await onCrl(old)).toBe('superseded');
    expect(await ocspAll(bound.body.device.id)).toBe('good');
  });

  let carolCard: string;
  let temporary: string;
  let temporaryRequest: { id: string };

  it('forgotten: the temporary device lives its policy’s two days, certificates included, and the request is due then', async () => {
    carolCard = await issueCard('carol');
    const made = await c.hannah!('POST', `/api/devices/${carolCard}/replacement`, {
      reason: 'forgotten',
      workflow: 'local_issuance',
    });
    expect(made.status).toBe(201);
    temporaryRequest = made.body;
    const start = await c.ivan!('POST', '/api/issuance', {
      userId: ids.carol,
      ...newCard(),
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect(start.status).toBe(202);
    expect((await finished(start.body.job.id)).status).toBe('succeeded');
    temporary = start.body.device.id;
    const device = await srv.rt.services.devices.get(temporary);
    expect(device.state).toBe('active');
    const life = Date.parse(device.expiresAt!) - Date.parse(device.issuedAt!);
    expect(life).toBe(2 * DAY);
    const r = (await c.hannah!('GET', `/api/requests/${made.body.id}`)).body;
    expect(r).toMatchObject({
      state: 'approved',
      waitingFor: 'temporary_end',
      replacementDeviceId: temporary,
      dueAt: device.expiresAt,
    });
    for (const cert of await certsOf(temporary)) {
      const v = opensslValidity(ssl, ssl.file(`t-${cert.id}.pem`, await pemOf(cert.id)));
      expect(v.notAfter.getTime()).toBeLessThanOrEqual(Date.parse(device.expiresAt!));
      expect(v.notAfter.getTime() - v.notBefore.getTime()).toBeLessThanOrEqual(2 * DAY);
    }
    expect(await ocspAll(carolCard)).toBe('revoked certificateHold');
    expect(await ocspAll(temporary)).toBe('good');
  });

  it('permanent over temporary: the card was lost after all; issuing the permanent one ends both devices', async () => {
    const made = await c.hannah!('POST', `/api/devices/${carolCard}/replacement`, {
      reason: 'lost',
      workflow: 'local_issuance',
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ overRequestId: temporaryRequest.id });
    const start = await c.ivan!('POST', '/api/issuance', {
      userId: ids.carol,
      ...newCard(),
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect(start.status).toBe(202);
    expect((await finished(start.body.job.id)).status).toBe('succeeded');
    expect(await deviceState(carolCard)).toBe('terminated');
    expect(await deviceState(temporary)).toBe('terminated');
    expect(await ocspAll(carolCard)).toBe('revoked keyCompromise');
    expect(await ocspAll(temporary)).toBe('revoked cessationOfOperation');
    expect(await onCrl(temporary)).toBe('cessationOfOperation');
    expect(await ocspAll(start.body.device.id)).toBe('good');
    const temp = (await c.hannah!('GET', `/api/requests/${temporaryRequest.id}`)).body;
    expect(temp).toMatchObject({ state: 'completed', dueAt: null });
    expect((await c.hannah!('GET', `/api/requests/${made.body.id}`)).body.state).toBe('completed');
  });

  it('a temporary device past its due time is ended by the expiry job: the original comes back', async () => {
    const original = await issueCard('alice');
    const made = await c.hannah!('POST', `/api/devices/${original}/replacement`, {
      reason: 'forgotten',
      workflow: 'local_issuance',
    });
    const start = await c.ivan!('POST', '/api/issuance', {
      userId: ids.alice,
      ...newCard(),
      action: 'issue',
      requestId: made.body.id,
      ...PIN,
    });
    expect((await finished(start.body.job.id)).status).toBe('succeeded');
    expect(await srv.rt.services.replacement.expiry.runDue()).toBe(0); // not due yet
    offset = 2 * DAY + 60_000;
    try {
      expect(await srv.rt.services.replacement.expiry.runDue()).toBe(1);
    } finally {
      offset = 0;
    }
    expect(await deviceState(start.body.device.id)).toBe('terminated');
    expect(await deviceState(original)).toBe('active');
    expect(await ocspAll(start.body.device.id)).toBe('revoked cessationOfOperation');
    expect(await ocspAll(original)).toBe('good');
    expect(await onCrl(original)).toBe('absent');
    const r = (await c.hannah!('GET', `/api/requests/${made.body.id}`)).body;
    expect(r.state).toBe('completed');
    expect(r.history.at(-1).action).toBe('request.temporary_expired');
  });

  it('refusals say why: a request awaiting approval, another person, a remote issuance', async () => {
    const card = await issueCard('bob');
    const declared = await c.bob!('POST', `/api/portal/devices/${card}/incident`, { reason: 'stolen' });
    expect(declared.status).toBe(201);
    expect(declared.body.waitingFor).toBe('approval');
    const early = await c.ivan!('POST', '/api/issuance', {
      userId: ids.bob,
      ...newCard(),
      action: 'issue',
      requestId: declared.body.id,
      ...PIN,
    });
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/waits for a validation officer’s approval/);
    const otherPerson = await c.ivan!('POST', '/api/issuance', {
      userId: ids.alice,
      ...newCard(),
      action: 'issue',
      requestId: declared.body.id,
      ...PIN,
    });
    expect(otherPerson.status).toBe(400);
    const remote = await c.hannah!('POST', `/api/devices/${card}/replacement`, {
      reason: 'lost',
      workflow: 'remote_issuance',
    });
    expect(remote.status).toBe(400);
    expect(remote.body.error.message).toMatch(/only available for mobile smart cards/);
    // Nothing of it touched the card's hold: it still waits for vera.
    expect(await ocspAll(card)).toBe('revoked certificateHold');

    // Four-eyes: an issuance officer does not issue the replacement of his own card.
    const own = await issueCard('ivan.issuer');
    const mine = await c.hannah!('POST', `/api/devices/${own}/replacement`, {
      reason: 'damaged',
      workflow: 'local_issuance',
    });
    expect(mine.status).toBe(201);
    const self = await c.ivan!('POST', '/api/issuance', {
      userId: ids['ivan.issuer'],
      ...newCard(),
      action: 'issue',
      requestId: mine.body.id,
      ...PIN,
    });
    expect(self.status).toBe(409);
    expect(self.body.error.message).toMatch(/your own device: another issuance officer/);
  });
});
