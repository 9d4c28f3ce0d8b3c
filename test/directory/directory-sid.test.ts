// Windows logon mapping from a real directory (issue #16, KB5014754): a slapd serving Active
// Directory's objectSid (binary) and userPrincipalName; the administrator maps them to the `objectSid`
// and `upn` properties; sync reads them, a directory-password sign-in refreshes them, and the PIV
// Authentication certificate of a card issued to the person carries the SID extension and the UPN.
// A person the directory gives no SID gets a certificate without it, and the PIV check says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionsOf } from '../../src/domain/permissions.js';
import { pivCertificateFacts } from '../../src/pki/piv-certificate-facts.js';
import type { Actor } from '../../src/services/context.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  directoryConfig,
  personDn,
  personLdif,
  ROOT_PW,
  slapdAvailable,
  startSlapd,
  SUFFIX,
  type Slapd,
} from '../support/slapd.js';

/** S-1-5-21-3623811015-3361044348-30300820-1013 as AD sends it, and the same domain's RID 1014. */
const SID_1013 = Buffer.from('010500000000000515000000c7f7fed77c7755c8945ace01f5030000', 'hex');
const SID_1014 = Buffer.from('010500000000000515000000c7f7fed77c7755c8945ace01f6030000', 'hex');

describe.skipIf(!slapdAvailable)(
  'objectSid and UPN from the directory into the logon certificate (slapd)',
  () => {
    let slapd: Slapd;
    let srv: TestServer;
    let admin: ApiClient;
    let actor: Actor;
    let cards: MemoryCardAccess;
    let serial = 52_000_000;

    beforeAll(async () => {
      slapd = await startSlapd({ adAttributes: true });
      slapd.add(`dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`);
      slapd.add(
        [
          personLdif({
            uid: 'wes.windows',
            cn: 'Wes Windows',
            password: 'Wes-Pass-7',
            objectSid: SID_1013,
            userPrincipalName: 'wes@corp.example.test',
          }),
          personLdif({ uid: 'nora.nosid', cn: 'Nora Nosid' }),
        ].join('\n'),
      );
      cards = new MemoryCardAccess();
      srv = await startTestServer({ demo: true, cardAccess: cards });
      admin = new ApiClient(srv.url);
      expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
      const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      actor = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
      const cfg = directoryConfig(slapd.url, {
        properties: { objectSid: 'objectSid', upn: 'userPrincipalName' },
      });
      expect((await admin.json('PUT', '/api/directory', { ...cfg, bindPassword: ROOT_PW })).status).toBe(200);
      const settings = await admin.json<Record<string, unknown>>('GET', '/api/settings');
      const methods = ['initial_password', 'directory_password', 'security_questions'];
      expect(
        (await admin.json('PUT', '/api/settings', { ...settings.body, portalAuthMethods: methods })).status,
      ).toBe(200);
    }, 120_000);
    afterAll(async () => {
      await srv?.close();
      await slapd?.stop();
    });

    const userNamed = async (username: string) =>
      (await srv.rt.services.users.search({ q: username, limit: 5, offset: 0 })).items.find(
        (u) => u.username === username,
      )!;

    /** Issues a card with the first demo policy to `userId`; the device and its 9A certificate. */
    async function issueTo(userId: string) {
      const reader = `Reader ${++serial}`;
      cards.addCard(reader, serial);
      const policy = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV'))!;
      const { job } = await srv.rt.services.issuance.starter.start(actor, {
        userId,
        card: { agentId: TEST_AGENT_ID, reader },
        action: 'issue',
        policyId: policy.id,
        pin: '482913',
        pinConfirmation: '482913',
      });
      await srv.rt.services.issuance.runner.settled(job!.id);
      const done = await srv.rt.services.issuance.jobs.get(job!.id);
      expect(done.error).toBeNull();
      const { items } = await srv.rt.services.pki.certificates.search({
        deviceId: done.deviceId,
        limit: 10,
        offset: 0,
      });
      const auth = items.find((c) => c.profile === 'piv_authentication')!;
      const pem = await srv.rt.services.pki.certificates.pem(auth.id);
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      return { deviceId: done.deviceId, der };
    }

    it('sync reads the binary objectSid as S-1-5-… and the UPN; the logon certificate carries both', async () => {
      const sync = await admin.json<{ created: number; errors: string[] }>('POST', '/api/directory/sync');
      expect(sync.body).toMatchObject({ created: 2, errors: [] });
      const wes = await userNamed('wes.windows');
      expect(wes.properties).toMatchObject({
        objectSid: 'S-1-5-21-3623811015-3361044348-30300820-1013',
        upn: 'wes@corp.example.test',
      });
      const { der } = await issueTo(wes.id);
      const facts = pivCertificateFacts(der);
      expect(facts.sid).toBe(true);
      expect(facts.upn).toBe(true);
      // The SID is in the certificate as its string, where a domain controller looks for it.
      expect(Buffer.from(der).includes(Buffer.from('S-1-5-21-3623811015-3361044348-30300820-1013'))).toBe(
        true,
      );
      expect(Buffer.from(der).includes(Buffer.from('wes@corp.example.test'))).toBe(true);
    }, 240_000);

    it('a directory-password sign-in refreshes the SID without waiting for a sync', async () => {
      slapd.modify(
        `dn: ${personDn('wes.windows')}\nchangetype: modify\nreplace: objectSid\nobjectSid:: ${SID_1014.toString('base64')}\n`,
      );
      const res = await fetch(`${srv.url}/api/portal/auth/directory-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'wes.windows', password: 'Wes-Pass-7' }),
      });
      expect(res.status).toBe(200);
      const wes = await userNamed('wes.windows');
      expect(wes.properties.objectSid).toBe('S-1-5-21-3623811015-3361044348-30300820-1014');
      // A wrong password changes nothing.
      slapd.modify(
        `dn: ${personDn('wes.windows')}\nchangetype: modify\nreplace: objectSid\nobjectSid:: ${SID_1013.toString('base64')}\n`,
      );
      const wrong = await fetch(`${srv.url}/api/portal/auth/directory-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'wes.windows', password: 'not-it' }),
      });
      expect(wrong.status).toBe(401);
      expect((await userNamed('wes.windows')).properties.objectSid).toBe(
        'S-1-5-21-3623811015-3361044348-30300820-1014',
      );
    }, 120_000);

    it('no objectSid: a certificate without the SID extension, and the PIV check says why', async () => {
      const nora = await userNamed('nora.nosid');
      expect(nora.properties.objectSid).toBeUndefined();
      const { deviceId, der } = await issueTo(nora.id);
      expect(pivCertificateFacts(der).sid).toBe(false);
      const report = (await srv.rt.services.conformance.get(deviceId))!;
      const auth = report.items.find((i) => i.id === 'slot:9a')!;
      expect(auth.details.join(' ')).toMatch(/No SID extension: the directory gave no objectSid/);
    }, 240_000);
  },
);
