// "Recover encryption certificates" (reference 004 options) over the real API, WebSockets and
// Node-side wallets: alice's first phone was issued under a device policy that archives its 9D
// key-management key; she gets a mobile ID whose policy recovers it: her new phone holds the same
// key-management certificate in 9D and its private key (the phone's ECDH secret with a stranger's key
// equals the stranger's with that certificate's public key — what decrypting a message encrypted to
// the certificate needs). The recovery is audited (certificate.key_recovered, naming the phone), the
// one credential is installed on both phones, and a policy without the option restores nothing.
import { createECDH, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { ALGORITHM } from '../../src/cards/piv/constants.js';
import type { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession, selfIssuedPhone } from './support.js';
import { signIn, until } from '../agent/support.js';

type View = {
  id: string;
  state: string;
  device: { id: string } | null;
  job: { id: string } | null;
  error: string | null;
};
type Cert = { id: string; slot: string | null; serial: string; status: string };

let srv: TestServer;
let admin: ApiClient;
let devicePolicyId: string;

const PIN = '246813';

beforeAll(async () => {
  srv = await startTestServer({ demo: true });
  admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
  const demo = (
    await admin.json<{ items: { name: string; pinPolicy: unknown }[] }>('GET', '/api/policies')
  ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!;
  // First by name among the policies for mobile devices: the self-issued phone is bound under it.
  const p = await admin.json<{ id: string }>('POST', '/api/policies', {
    name: 'AAA Phone with an archived encryption key',
    description: '',
    deviceTypes: ['mobile'],
    credentialProfiles: [
      {
        name: 'PIV Authentication',
        slot: '9a',
        keyAlgorithm: 'ECCP256',
        certificateProfile: 'piv_authentication',
        validityDays: 365,
        archiveKey: false,
      },
      {
        name: 'Key Management',
        slot: '9d',
        keyAlgorithm: 'ECCP256',
        certificateProfile: 'key_management',
        validityDays: 365,
        archiveKey: true,
      },
    ],
    pinPolicy: demo.pinPolicy,
    pukRetries: 3,
    deviceValidityDays: 365,
    defaultLayout: null,
  });
  expect(p.status).toBe(201);
  devicePolicyId = p.body.id;
}, 120_000);
afterAll(async () => srv?.close());

const certsOf = async (deviceId: string) =>
  (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;

/** The card proves it holds the private key of `certDer` in `slot`: its ECDH secret matches. */
async function holdsKeyOf(card: PivCardApplication, slot: number, certDer: Uint8Array): Promise<boolean> {
  const s = await PivSession.open({ transmit: (a: Uint8Array) => card.transmit(a) });
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
}

async function mobileIdPolicy(name: string, recoverKey: boolean): Promise<string> {
  const r = await admin.json<{ id: string }>('POST', '/api/mobile-id-policies', {
    name,
    description: '',
    devicePolicyId,
    profiles: ['PIV Authentication', 'Key Management'],
    qrDelivery: 'portal',
    validityDays: 90,
    properties: [],
    recoverKey,
    notify: 'none',
    enabled: true,
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

async function getMobileId(
  person: ApiClient,
  policyId: string,
): Promise<{ card: PivCardApplication; view: View }> {
  const r = await person.json<{ mobileId: View; qr: { url: string } }>('POST', '/api/portal/mobile-id', {
    policyId,
  });
  expect(r.status).toBe(201);
  const card = await newWalletCard();
  const phone = phoneLink(srv.url, card, { code: decodeURIComponent(r.body.qr.url.split('#link=')[1]!) });
  await phone.link.start();
  const view = await until(
    'the mobile ID to be created',
    async () => {
      const v = (await person.json<View>('GET', `/api/portal/mobile-id/${r.body.mobileId.id}`)).body;
      return v.state === 'issuing' || v.state === 'awaiting_wallet' ? undefined : v;
    },
    90_000,
  );
  expect(view.state, view.error ?? '').toBe('active');
  phone.link.choosePin(view.job!.id, PIN, PIN);
  await until('the PIN', async () => phone.results.find((x) => x.of === 'wallet-pin'));
  phone.link.close();
  return { card, view };
}

describe('mobile ID: recover the encryption key', { timeout: 240_000 }, () => {
  it("alice's archived key-management key and certificate are restored into her new phone's 9D", async () => {
    const first = await selfIssuedPhone(srv.url, admin, 'alice', PIN);
    const km = (await certsOf(first.deviceId)).find((c) => c.slot === '9d')!;
    expect(km).toBeDefined();
    const kmDer = new Uint8Array(
      Buffer.from(
        (await (await admin.call('GET', `/api/certificates/${km.id}/pem`)).text()).replace(
          /-----[^-]+-----|\s/g,
          '',
        ),
        'base64',
      ),
    );
    const policyId = await mobileIdPolicy('Phones with the encryption key', true);
    const alice = await portalSession(srv.url, admin, 'alice');
    const { card, view } = await getMobileId(alice, policyId);

    // The same certificate, in 9D of the new phone, and the phone holds its private key.
    // (No new key-management certificate was issued for the phone.)
    expect((await certsOf(view.device!.id)).map((c) => c.slot)).toEqual(['9a']);
    const s = await PivSession.open({ transmit: (a: Uint8Array) => card.transmit(a) });
    expect(Buffer.from((await s.getCertificate(0x9d))!).equals(Buffer.from(kmDer))).toBe(true);
    expect(await holdsKeyOf(card, 0x9d, kmDer)).toBe(true);
    // The first phone still holds it too: one credential on two devices.
    expect(await holdsKeyOf(first.card, 0x9d, kmDer)).toBe(true);
    // Audited, naming the phone; never the key.
    const audit = await srv.rt.db.query<{ details: string }>(
      "SELECT details::text AS details FROM audit_events WHERE action = 'certificate.key_recovered' AND target_id = $1",
      [km.id],
    );
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ targetDeviceId: view.device!.id, format: 'pkcs8' });
  });

  it('a policy without the option gives the phone a key-management key of its own', async () => {
    const policyId = await mobileIdPolicy('Phones without recovery', false);
    // carol has no archived key either way; bob self-issues one first so that there is one to leave.
    await selfIssuedPhone(srv.url, admin, 'bob', PIN);
    const bob = await portalSession(srv.url, admin, 'bob');
    const { view } = await getMobileId(bob, policyId);
    const bobsKms = (
      await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${view.device!.id}`)
    ).body.items.filter((c) => c.slot === '9d');
    expect(bobsKms).toHaveLength(1);
    const recovered = await srv.rt.db.query(
      "SELECT 1 FROM audit_events WHERE action = 'certificate.key_recovered' AND details->>'targetDeviceId' = $1",
      [view.device!.id],
    );
    expect(recovered).toHaveLength(0);
  });
});
