// The key-management key of a replacement (docs/replacement.md, keyRecoveryFor), on a running
// server with emulated cards: a policy that archives its 9D key has the server make the key, archive
// it under the master key and load it onto the card; a replacement gets it back — damaged: the same
// certificate in 9D, still valid; lost: a new 9D key, the old one in retired slot 82 to decrypt, its
// certificate revoked (keyCompromise); forgotten: the temporary card gets the old key in slot 82
// while its certificate stays on hold. Each key is proven on the card by ECDH against its
// certificate's public key; each status asked of the server by `openssl ocsp -url`.
import { createECDH, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { ALGORITHM, OBJECT } from '../../src/cards/piv/constants.js';
import { decodeKeyHistory } from '../../src/cards/piv/objects.js';
import { systemActor } from '../../src/services/context.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}
type Client = (method: string, path: string, body?: unknown) => Promise<Reply>;

const KM = 0x9d;
const RETIRED_1 = 0x82;
const PIN = '482913';

describe.skipIf(!hasOpenssl)('the key-management key of a replacement', () => {
  let srv: TestServer;
  const cards = new MemoryCardAccess();
  const ssl = new OpensslDir();
  let policyId: string;
  const c: Record<string, Client> = {};
  const ids: Record<string, string> = {};
  const readers: Record<string, string> = {};
  let serial = 41_000_000;

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

  /** ivan issues a card (for a request, or not) and waits for the job; returns the device id. */
  const issue = async (username: string, requestId?: string) => {
    const reader = `Reader ${++serial}`;
    cards.addCard(reader, serial);
    const r = await c.ivan!('POST', '/api/issuance', {
      userId: ids[username],
      agentId: TEST_AGENT_ID,
      reader,
      action: 'issue',
      ...(requestId ? { requestId } : { policyId }),
      pin: PIN,
      pinConfirmation: PIN,
    });
    expect(r.status).toBe(202);
    await srv.rt.services.issuance.runner.settled(r.body.job.id);
    expect((await srv.rt.services.issuance.jobs.get(r.body.job.id)).status).toBe('succeeded');
    readers[r.body.device.id] = reader;
    return r.body.device.id as string;
  };

  const certs = async (deviceId: string) =>
    (await srv.rt.services.pki.certificates.search({ deviceId, limit: 10, offset: 0 })).items;
  const kmCert = async (deviceId: string) => (await certs(deviceId)).find((x) => x.slot === '9d')!;

  /** The card proves it holds the private key of `certDer` in `slot`: its ECDH secret matches. */
  const holdsKeyOf = async (deviceId: string, slot: number, certDer: Uint8Array) => {
    const s = await PivSession.open(await cards.readers.connect(readers[deviceId]!));
    await s.verifyPin(PIN);
    const peer = createECDH('prime256v1');
    peer.generateKeys();
    const secret = await s.calculateSecret(slot, ALGORITHM.ECC_P256, peer.getPublicKey());
    const jwk = new X509Certificate(Buffer.from(certDer)).publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from(jwk.y!, 'base64url'),
    ]);
    return Buffer.from(secret).equals(peer.computeSecret(point));
  };
  const cardCert = async (deviceId: string, slot: number) => {
    const s = await PivSession.open(await cards.readers.connect(readers[deviceId]!));
    return s.getCertificate(slot);
  };
  const retiredCount = async (deviceId: string) => {
    const s = await PivSession.open(await cards.readers.connect(readers[deviceId]!));
    const kh = await s.getObject(OBJECT.KEY_HISTORY);
    return kh ? decodeKeyHistory(kh).onCardCertificates : 0;
  };
  const derOf = async (certId: string) =>
    Uint8Array.from(new X509Certificate((await srv.rt.services.pki.certificates.get(certId)).pem).raw);

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
  const credentialDevices = async (credentialId: string) =>
    (
      await srv.rt.db.query<{ device_id: string }>(
        'SELECT device_id FROM device_credentials WHERE credential_id = $1 ORDER BY device_id',
        [credentialId],
      )
    ).map((r) => r.device_id);

  beforeAll(async () => {
    srv = await startTestServer({ demo: true, cardAccess: cards });
    const pki = srv.rt.services.pki;
    const issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
    const root = (await pki.cas.list()).find((x) => x.kind === 'root')!;
    ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
    ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
    const ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
    const archiving = await srv.rt.services.policies.create(systemActor('test'), {
      name: 'PIV ECC, key-management key archived',
      description: 'test',
      deviceTypes: ecc.deviceTypes,
      credentialProfiles: [
        ...ecc.credentialProfiles.filter((p) => p.slot !== '9d'),
        {
          name: 'Key Management',
          slot: '9d',
          keyAlgorithm: 'ECCP256',
          certificateProfile: 'key_management',
          validityDays: 365,
          archiveKey: true,
        },
      ],
      pinPolicy: ecc.pinPolicy,
      pukRetries: ecc.pukRetries,
      deviceValidityDays: ecc.deviceValidityDays,
      defaultLayout: null,
    });
    policyId = archiving.id;
    for (const u of ['hannah.help', 'ivan.issuer']) c[u.split('.')[0]!] = await session(u, 'operator');
    for (const u of ['alice', 'bob', 'carol']) await session(u, 'portal');
  }, 180_000);
  afterAll(async () => {
    ssl.dispose();
    await srv?.close();
  });

  it('issuance archives the 9D key: the server made it, the card holds it, the archive has it', async () => {
    const card = await issue('alice');
    const km = await kmCert(card);
    expect(await holdsKeyOf(card, KM, await derOf(km.id))).toBe(true);
    const archived = await srv.rt.db.query('SELECT 1 FROM archived_keys WHERE certificate_id = $1', [km.id]);
    expect(archived).toHaveLength(1);
    // The signing keys are never archived.
    const others = (await certs(card)).filter((x) => x.slot !== '9d').map((x) => x.id);
    const none = await srv.rt.db.query('SELECT 1 FROM archived_keys WHERE certificate_id = ANY($1::uuid[])', [
      others,
    ]);
    expect(none).toHaveLength(0);
  });

  it('damaged: the replacement gets the same key and certificate in 9D, which stays valid; the others are superseded', async () => {
    const old = await issue('bob');
    const km = await kmCert(old);
    const auth = (await certs(old)).find((x) => x.slot === '9a')!;
    const made = await c.hannah!('POST', `/api/devices/${old}/replacement`, {
      reason: 'damaged',
      workflow: 'local_issuance',
    });
    expect(made.status).toBe(201);
    expect(await ocsp(km.id)).toBe('revoked certificateHold');
    const fresh = await issue('bob', made.body.id);
    const kmDer = await derOf(km.id);
    expect(Buffer.from((await cardCert(fresh, KM))!)).toEqual(Buffer.from(kmDer));
    expect(await holdsKeyOf(fresh, KM, kmDer)).toBe(true);
    expect(await retiredCount(fresh)).toBe(0);
    expect(await ocsp(km.id)).toBe('good');
    expect(await ocsp(auth.id)).toBe('revoked superseded');
    const credentialId = (await srv.rt.services.pki.certificates.get(km.id)).credentialId!;
    expect(await credentialDevices(credentialId)).toEqual([fresh]);
    // No second key-management certificate was issued for the new card.
    expect((await certs(fresh)).filter((x) => x.slot === '9d')).toHaveLength(0);
    const audit = await srv.rt.db.query<{ details: { targetDeviceId: string } }>(
      `SELECT details FROM audit_events WHERE action = 'certificate.key_recovered' AND target_id = $1`,
      [km.id],
    );
    expect(audit.map((a) => a.details.targetDeviceId)).toEqual([fresh]);
  });

  it('lost: a new 9D key; the old key and certificate in retired slot 82 to decrypt; the old certificate revoked as compromised', async () => {
    const old = await issue('carol');
    const km = await kmCert(old);
    const made = await c.hannah!('POST', `/api/devices/${old}/replacement`, {
      reason: 'lost',
      workflow: 'local_issuance',
    });
    const fresh = await issue('carol', made.body.id);
    const kmDer = await derOf(km.id);
    const newKm = await kmCert(fresh);
    expect(newKm.serial).not.toBe(km.serial);
    expect(await holdsKeyOf(fresh, KM, await derOf(newKm.id))).toBe(true);
    expect(Buffer.from((await cardCert(fresh, RETIRED_1))!)).toEqual(Buffer.from(kmDer));
    expect(await holdsKeyOf(fresh, RETIRED_1, kmDer)).toBe(true);
    expect(await retiredCount(fresh)).toBe(1);
    expect(await ocsp(km.id)).toBe('revoked keyCompromise');
    expect(await ocsp(newKm.id)).toBe('good');
    // The new key is archived too.
    expect(
      await srv.rt.db.query('SELECT 1 FROM archived_keys WHERE certificate_id = $1', [newKm.id]),
    ).toHaveLength(1);
  });

  it('forgotten: the temporary card decrypts with the old key (slot 82) while its certificate stays on hold; ending it gives the key back', async () => {
    const original = await issue('alice');
    const km = await kmCert(original);
    const made = await c.hannah!('POST', `/api/devices/${original}/replacement`, {
      reason: 'forgotten',
      workflow: 'local_issuance',
    });
    const temp = await issue('alice', made.body.id);
    const kmDer = await derOf(km.id);
    expect(await holdsKeyOf(temp, RETIRED_1, kmDer)).toBe(true);
    expect(await ocsp(km.id)).toBe('revoked certificateHold');
    const credentialId = (await srv.rt.services.pki.certificates.get(km.id)).credentialId!;
    expect((await credentialDevices(credentialId)).sort()).toEqual([original, temp].sort());
    const ended = await c.hannah!('POST', `/api/devices/${temp}/terminate`, {});
    expect(ended.status).toBe(200);
    expect(await ocsp(km.id)).toBe('good');
    expect(await ocsp((await kmCert(temp)).id)).toBe('revoked cessationOfOperation');
    expect(await credentialDevices(credentialId)).toEqual([original]);
  });
});
