// Cards issued with both demo policies are PIV cards: a CHUID signed by the CA's content signer
// (FASC-N, GUID = card UUID, expiration = device validity), a Security Object hashing it, the key
// history object; the read-back conformance report says so, and a changed byte fails it. Judges:
// OpenSC's pkcs15-tool through pcscd + vpcd lists and extracts the objects, openssl cms verifies
// the CHUID's signature against the CA chain, openssl x509 prints each certificate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OBJECT } from '../../src/cards/piv/constants.js';
import { managementKeyFor } from '../../src/services/card-keys.js';
import { decodeChuid, decodeKeyHistory } from '../../src/cards/piv/objects.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { decodeTlv } from '../../src/cards/tlv.js';
import { decodeFascn } from '../../src/domain/fascn.js';
import { pivCertificateFacts } from '../../src/pki/piv-certificate-facts.js';
import { EKU } from '../../src/pki/profiles.js';
import type { Actor } from '../../src/services/context.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { objectKey } from '../../src/cards/emulator/piv-card-core.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { insertVirtualCard } from '../support/card-emulator.js';
import { runTool } from '../support/card-tools.js';
import { acquirePcscd, pcscdMissing, toolMissing } from '../support/pcscd.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';

let srv: TestServer;
let cards: MemoryCardAccess;
let admin: Actor;
let policies: Policy[];
let aliceId: string;
let ossl: OpensslDir;
let serial = 31_000_000;

beforeAll(async () => {
  cards = new MemoryCardAccess();
  srv = await startTestServer({ demo: true, cardAccess: cards });
  const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
  admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
  policies = (await srv.rt.services.policies.list()).filter((p) => p.name.startsWith('PIV'));
  aliceId = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!.id;
  ossl = new OpensslDir();
  for (const ca of await srv.rt.services.pki.cas.list())
    ossl.file(`${ca.kind}.pem`, toPem(await srv.rt.services.pki.cas.certificateDer(ca.id)));
}, 120_000);
afterAll(async () => {
  await srv?.close();
  ossl?.dispose();
});

async function issueCard(policy: Policy) {
  const s = ++serial;
  const reader = `Reader ${s}`;
  const card = cards.addCard(reader, s);
  const { job } = await srv.rt.services.issuance.starter.start(admin, {
    userId: aliceId,
    card: { agentId: TEST_AGENT_ID, reader },
    action: 'issue',
    policyId: policy.id,
    pin: '482913',
    pinConfirmation: '482913',
  });
  await srv.rt.services.issuance.runner.settled(job!.id);
  const done = await srv.rt.services.issuance.jobs.get(job!.id);
  expect(done.error).toBeNull();
  return { card, reader, deviceId: done.deviceId };
}

describe('signed PIV objects on issued cards', () => {
  it('has two demo policies to issue with', () => expect(policies.length).toBeGreaterThanOrEqual(2));

  it('each demo policy: signed CHUID and Security Object, certificates bound to the FASC-N and UUID; report passes', async () => {
    for (const policy of policies) {
      const { reader, deviceId } = await issueCard(policy);
      const device = await srv.rt.services.devices.get(deviceId);
      const s = await PivSession.open(await cards.readers.connect(reader));
      const chuid = decodeChuid((await s.getObject(OBJECT.CHUID))!);
      expect(Buffer.from(chuid.guid).toString('hex')).toBe(deviceId.replace(/-/g, ''));
      expect(chuid.expiration).toBe(device.expiresAt!.slice(0, 10).replace(/-/g, ''));
      expect(decodeFascn(chuid.fascn)).toMatchObject({ agencyCode: '9999', systemCode: '9999' });
      expect(chuid.signature.length).toBeGreaterThan(100);
      expect(await s.getObject(OBJECT.SECURITY)).toBeDefined();
      expect(decodeKeyHistory((await s.getObject(OBJECT.KEY_HISTORY))!)).toEqual({
        onCardCertificates: 0,
        offCardCertificates: 0,
      });
      for (const p of policy.credentialProfiles) {
        const der = (await s.getCertificate(Number.parseInt(p.slot, 16)))!;
        const f = pivCertificateFacts(der);
        console.log(
          ossl.runOk(['x509', '-inform', 'DER', '-in', ossl.file(`${p.slot}.der`, der), '-noout', '-text']),
        );
        if (p.slot === '9a' || p.slot === '9e') {
          expect(f.fascn?.equals(Buffer.from(chuid.fascn))).toBe(true);
          expect(f.uuid).toBe(deviceId);
        }
        if (p.slot === '9e') {
          expect(f.extendedKeyUsageCritical).toBe(true);
          expect(f.extendedKeyUsage).toEqual([EKU.pivCardAuth]);
        }
      }
      const report = (await srv.rt.services.conformance.get(deviceId))!;
      expect(report.items.filter((i) => i.status === 'fail')).toEqual([]);
      expect(report.ok).toBe(true);
      const byId = Object.fromEntries(report.items.map((i) => [i.id, i]));
      expect(byId.chuid).toMatchObject({ present: true, signed: true, status: 'pass' });
      expect(byId.security).toMatchObject({ present: true, signed: true, status: 'pass' });
      expect(byId.discovery).toMatchObject({ present: true });
      // Alice comes from no directory: her 9A certificate has no SID, and the report says why.
      expect(byId['slot:9a']!.details.join(' ')).toMatch(
        /No SID extension: the person is not from the directory/,
      );
    }
  }, 300_000);

  it('a modified byte in the CHUID fails its signature and the Security Object hash; the check says so', async () => {
    const { reader, deviceId } = await issueCard(policies[0]!);
    // Someone holding the card's management key rewrites one byte of the CHUID.
    const s = await PivSession.open(await cards.readers.connect(reader));
    const mk = managementKeyFor(srv.rt.masterKey, String(serial), s.version);
    await s.authenticate(mk.key, mk.algorithm);
    const value = Buffer.from((await s.getObject(OBJECT.CHUID))!);
    value[3]! ^= 0x01; // inside the FASC-N
    await s.putObject(OBJECT.CHUID, value);
    const report = await srv.rt.services.conformance.check(admin, deviceId, {
      agentId: TEST_AGENT_ID,
      reader,
    });
    expect(report.ok).toBe(false);
    const byId = Object.fromEntries(report.items.map((i) => [i.id, i]));
    expect(byId.chuid).toMatchObject({ signed: false, status: 'fail' });
    expect(byId.chuid!.details.join(' ')).toMatch(/changed after signing/);
    expect(byId.security!.status).toBe('fail');
    expect(byId.security!.details.join(' ')).toMatch(/does not match its hash/);
    // The stored report is the new one.
    expect((await srv.rt.services.conformance.get(deviceId))!.ok).toBe(false);
    // A certificate object changed on the card is caught too.
    await s.deleteCertificate(0x9a);
    const again = await srv.rt.services.conformance.check(admin, deviceId, {
      agentId: TEST_AGENT_ID,
      reader,
    });
    expect(again.items.find((i) => i.id === 'slot:9a')).toMatchObject({ present: false, status: 'fail' });
  }, 300_000);
});

/**
 * A card that keeps what it is written but, once the issuance has written its last object (the key
 * history), answers with one byte of another object changed: what the issuance's own read-back
 * check gets is not what it wrote.
 */
class ReadBackCorruptingCard extends VirtualPivCard {
  constructor(
    serial: number,
    private readonly object: number,
    private readonly at: (length: number) => number,
  ) {
    super(newCardState({ serial }));
  }

  override async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const answer = await super.transmit(apdu);
    const keyHistory = Buffer.from([0x5c, 0x03, 0x5f, 0xc1, 0x0c]);
    if (apdu[1] === 0xdb && Buffer.from(apdu).includes(keyHistory)) {
      const key = objectKey(this.object);
      const value = Buffer.from(this.state.objects[key]!, 'base64');
      value[this.at(value.length)]! ^= 0x01;
      this.state.objects[key] = value.toString('base64');
    }
    return answer;
  }
}

// Through a local reader the check reads object by object; through an agent (batching) the
// issuance reads them in the exchange that wrote them. Either way it reads what the card holds.
describe.each([
  ['one by one', false],
  ['in the exchange that wrote them (agent batches)', true],
])('the check at issuance reads back what it wrote, %s', (_, batching) => {
  beforeAll(() => {
    cards.batching = batching;
  });
  afterAll(() => {
    cards.batching = false;
  });

  async function issueOn(card: VirtualPivCard) {
    const reader = `Reader ${card.serial}`;
    cards.readers.addReader(reader);
    cards.readers.insert(reader, card);
    const { job } = await srv.rt.services.issuance.starter.start(admin, {
      userId: aliceId,
      card: { agentId: TEST_AGENT_ID, reader },
      action: 'issue',
      policyId: policies[0]!.id,
      pin: '482913',
      pinConfirmation: '482913',
    });
    await srv.rt.services.issuance.runner.settled(job!.id);
    const done = await srv.rt.services.issuance.jobs.get(job!.id);
    expect(done.error).toBeNull();
    const report = (await srv.rt.services.conformance.get(done.deviceId))!;
    return {
      reader,
      deviceId: done.deviceId,
      report,
      byId: Object.fromEntries(report.items.map((i) => [i.id, i])),
    };
  }

  it('an untouched card: the report from what was written is the one a full check of the card gives', async () => {
    const { reader, deviceId, report } = await issueOn(
      new VirtualPivCard(newCardState({ serial: ++serial })),
    );
    expect(report.ok).toBe(true);
    const full = await srv.rt.services.conformance.check(admin, deviceId, { agentId: TEST_AGENT_ID, reader });
    expect({ ...report, checkedAt: '' }).toEqual({ ...full, checkedAt: '' });
  }, 300_000);

  it('a CHUID changed on read-back fails its signature and the Security Object hash', async () => {
    const { report, byId } = await issueOn(new ReadBackCorruptingCard(++serial, OBJECT.CHUID, () => 3));
    expect(report.ok).toBe(false);
    expect(byId.chuid).toMatchObject({ signed: false, status: 'fail' });
    expect(byId.chuid!.details.join(' ')).toMatch(/changed after signing/);
    expect(byId.security).toMatchObject({ signed: true, status: 'fail' });
    expect(byId.security!.details.join(' ')).toMatch(/does not match its hash/);
  }, 300_000);

  it('a Security Object changed on read-back fails its signature', async () => {
    // The last byte before FE 00: the end of the SignerInfo's signature.
    const { report, byId } = await issueOn(
      new ReadBackCorruptingCard(++serial, OBJECT.SECURITY, (n) => n - 3),
    );
    expect(report.ok).toBe(false);
    expect(byId.chuid).toMatchObject({ signed: true, status: 'pass' });
    expect(byId.security).toMatchObject({ signed: false, status: 'fail' });
    expect(byId.security!.details.join(' ')).toMatch(/does not verify/);
  }, 300_000);

  it('a certificate changed on read-back is not the one the CA issued', async () => {
    // Inside the certificate's signature (the object ends 71 01 00 FE 00).
    const { report, byId } = await issueOn(new ReadBackCorruptingCard(++serial, 0x5fc105, (n) => n - 10));
    expect(report.ok).toBe(false);
    expect(byId['slot:9a']!.status).toBe('fail');
    expect(byId['slot:9a']!.details.join(' ')).toMatch(/not the certificate the CA issued/);
  }, 300_000);
});

describe("the conformance routes (the operator's view of a device)", () => {
  it('GET gives the stored report; POST reads the card again; help desk may look, not read cards; unknown device 404', async () => {
    const { reader, deviceId } = await issueCard(policies[0]!);
    const op = new ApiClient(srv.url);
    expect((await op.login(srv.admin.username, srv.admin.password)).status).toBe(200);
    const got = await op.json<{ deviceId: string; report: { ok: boolean; items: { id: string }[] } }>(
      'GET',
      `/api/devices/${deviceId}/conformance`,
    );
    expect(got.status).toBe(200);
    expect(got.body.deviceId).toBe(deviceId);
    expect(got.body.report.ok).toBe(true);
    expect(got.body.report.items.map((i) => i.id)).toEqual(
      expect.arrayContaining(['chuid', 'security', 'slot:9a']),
    );

    const again = await op.json<{ ok: boolean; checkedAt: string }>(
      'POST',
      `/api/devices/${deviceId}/conformance`,
      { agentId: TEST_AGENT_ID, reader },
    );
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.ok).toBe(true);

    // Another card in the reader: refused, and the stored report stays.
    const other = await issueCard(policies[0]!);
    const wrong = await op.json<{ error: { message: string } }>(
      'POST',
      `/api/devices/${deviceId}/conformance`,
      {
        agentId: TEST_AGENT_ID,
        reader: other.reader,
      },
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/not this device/);

    const none = await op.json('GET', '/api/devices/00000000-0000-4000-8000-000000000000/conformance');
    expect(none.status).toBe(404);
    const bad = await op.json('POST', `/api/devices/${deviceId}/conformance`, { reader });
    expect(bad.status).toBe(400);

    const help = new ApiClient(srv.url);
    expect((await help.login('hannah.help', srv.demoPassword!)).status).toBe(200);
    expect((await help.json('GET', `/api/devices/${deviceId}/conformance`)).status).toBe(200);
    expect(
      (await help.json('POST', `/api/devices/${deviceId}/conformance`, { agentId: TEST_AGENT_ID, reader }))
        .status,
    ).toBe(403);
  }, 300_000);
});

const missing =
  pcscdMissing() ?? toolMissing('pkcs15-tool', 'openssl') ?? (hasOpenssl ? undefined : 'openssl is missing');
if (missing) console.warn(`\n*** SKIPPING the OpenSC / openssl cms judge: ${missing} ***\n`);

describe.skipIf(missing !== undefined)(
  'OpenSC and openssl cms judge the signed objects (pcscd + vpcd)',
  () => {
    it('pkcs15-tool lists the CHUID and the Security Object; openssl cms verifies the CHUID signature with the CA chain', async () => {
      const { card, reader } = await issueCard(policies[0]!);
      cards.readers.remove(reader);
      const lease = await acquirePcscd();
      const inserted = await insertVirtualCard({ card });
      try {
        const dump = await runTool('pkcs15-tool', ['-D']);
        console.log(dump.output);
        expect(dump.code, dump.output).toBe(0);
        expect(dump.stdout).toMatch(/Card Holder Unique Identifier/);
        expect(dump.stdout).toMatch(/Security Object/);
        const out = join(ossl.dir, 'chuid.bin');
        const r = await runTool('pkcs15-tool', ['-R', 'Card Holder Unique Identifier', '-o', out]);
        expect(r.code, r.output).toBe(0);
        expect(existsSync(out)).toBe(true);
        const so = await runTool('pkcs15-tool', ['-R', 'Security Object', '-o', join(ossl.dir, 'so.bin')]);
        expect(so.code, so.output).toBe(0);
        // OpenSC hands the object as the card returns it (inside tag 53).
        let raw: Uint8Array = Uint8Array.from(readFileSync(out));
        if (raw[0] === 0x53) raw = decodeTlv(raw).value;
        const chuid = decodeChuid(raw);
        ossl.file('chuid-sig.der', chuid.signature);
        // The trust store: the root, and the issuing CA that certified the content signer.
        ossl.file(
          'ca-chain.pem',
          readFileSync(join(ossl.dir, 'issuing.pem'), 'utf8') +
            readFileSync(join(ossl.dir, 'root.pem'), 'utf8'),
        );
        ossl.file('chuid-fields.bin', chuid.signedFields);
        const v = ossl.run([
          'cms',
          '-verify',
          '-inform',
          'DER',
          '-in',
          'chuid-sig.der',
          '-content',
          'chuid-fields.bin',
          '-binary',
          '-CAfile',
          'ca-chain.pem',
          '-purpose',
          'any',
          '-out',
          '/dev/null',
        ]);
        console.log(v.out);
        expect(v.out).toMatch(/Verification successful/);
        expect(v.status).toBe(0);
        // The same signature over a changed byte is refused.
        const bad = Buffer.from(chuid.signedFields);
        bad[5]! ^= 0x01;
        ossl.file('chuid-bad.bin', bad);
        const w = ossl.run([
          'cms',
          '-verify',
          '-inform',
          'DER',
          '-in',
          'chuid-sig.der',
          '-content',
          'chuid-bad.bin',
          '-binary',
          '-CAfile',
          'ca-chain.pem',
          '-purpose',
          'any',
          '-out',
          '/dev/null',
        ]);
        expect(w.status).not.toBe(0);
      } finally {
        await inserted.remove();
        await lease.release();
      }
    }, 300_000);
  },
);
