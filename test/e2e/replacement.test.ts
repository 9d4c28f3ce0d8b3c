// Replacement of devices in Chromium (reference 003, issue 12; issue 19 item 7), against a real
// server whose readers hold emulated PIV cards, with the CA's answers asked by `openssl ocsp`:
// the help desk suspends and resumes alice's card from the User page (certificateHold at the CA,
// then good); replaces her lost card and an issuance officer issues the replacement from the
// Requests page; bob declares his card stolen in the portal, a validation officer approves, bob
// self-enrolls the replacement; carol's forgotten card gets a temporary card that is then
// terminated. Every page is checked at a phone's width (no sideways scrolling at 390 px).
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { OpensslDir, hasOpenssl, toPem } from '../pki/openssl.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  POLL,
  screenshot,
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
    let bobAnswers: [string, string][] = [];

    const shoot = (p: Page, name: string) => screenshot(p, shots, name);
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

    /** A second person at another browser (own cookies), same locale and zone. */
    const newPerson = async (width = 1280): Promise<Page> => {
      const ctx = await browser.newContext({
        baseURL: srv.url,
        viewport: { width, height: 900 },
        locale: BROWSER_LOCALE,
        timezoneId: BROWSER_TIME_ZONE,
      });
      ctx.setDefaultTimeout(30_000);
      extraContexts.push(ctx);
      const p = await ctx.newPage();
      p.on('pageerror', (err) => pageErrors.push(String(err)));
      return p;
    };

    /**
     * The person records security answers in the portal (through the API, with an initial password
     * from an administrator), so they can sign in later without their card. Returns question → answer.
     */
    const giveSecurityAnswers = async (username: string): Promise<[string, string][]> => {
      const issued = await admin.json<{ password: string }>(
        'POST',
        `/api/users/${ids[username]}/initial-password`,
        {
          delivery: 'displayed',
        },
      );
      expect(issued.status).toBe(201);
      const person = new ApiClient(srv.url);
      const res = await fetch(`${srv.url}/api/portal/auth/initial-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: issued.body.password }),
      });
      expect(res.status).toBe(200);
      person.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      person.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
      const status = (
        await person.json<{ required: number; available: { id: string; text: string }[] }>(
          'GET',
          '/api/portal/security-questions',
        )
      ).body;
      const chosen = status.available
        .slice(0, status.required)
        .map((q, i) => [q, `answer ${i + 1}`] as const);
      const set = await person.json('POST', '/api/portal/security-questions', {
        answers: chosen.map(([q, answer]) => ({ questionId: q.id, answer })),
      });
      expect(set.status).toBe(200);
      await person.call('POST', '/api/auth/logout');
      return chosen.map(([q, a]) => [q.text, a]);
    };

    /** Nothing on the page is wider than the window (a phone must not scroll sideways). */
    const fitsWidth = async (p: Page) => {
      const { scroll, client, wide } = await p.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        // What sticks out, to say in the failure (the innermost elements first).
        wide: Array.from(document.querySelectorAll('body *'))
          .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .reverse()
          .slice(0, 3)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${(el.textContent ?? '').slice(0, 40)}`),
      }));
      expect(scroll, `${p.url()} is wider than the window: ${wide.join(' | ')}`).toBeLessThanOrEqual(client);
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
      // The blank cards of the replacements, in the inventory (bound or issued from there).
      for (const c of [CARDS.aliceNew, CARDS.bobNew, CARDS.carolTemp])
        expect(
          (
            await admin.json('POST', '/api/devices', {
              serial: String(c.serial),
              type: 'piv_card',
              model: 'Emulated PIV card',
            })
          ).status,
        ).toBe(201);
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

    it('help desk replaces alice’s lost card; it waits in the issuance officer’s queue with its history', async () => {
      await openUser(page, 'alice');
      const card = await deviceOf(CARDS.alice.serial);
      await deviceRow(page, CARDS.alice.serial).getByRole('button', { name: 'Replace…' }).click();
      const dlg = page.getByRole('dialog', { name: `Replace device ${CARDS.alice.serial}` });
      // Remote issuance is for phones only.
      expect(await dlg.getByLabel(/^Remote issuance/).isDisabled()).toBe(true);
      await dlg.getByLabel(/^Lost/).check();
      await dlg.getByLabel(/^Local issuance/).check();
      await dlg.getByLabel('Note (kept in the request’s history)').fill('Lost on the train');
      await expectLabelledControls(page);
      await shoot(page, '03-replace-dialog');
      await dlg.getByRole('button', { name: 'Request replacement' }).click();
      const made = page.getByRole('status').filter({ hasText: /Replacement request #\d+ is approved/ });
      await made.waitFor();
      const number = /#(\d+)/.exec((await made.textContent()) ?? '')![1]!;
      const row = deviceRow(page, CARDS.alice.serial);
      await row.getByText(`Replacement approved: request #${number} (lost)`).waitFor();
      await row.getByText('Invalid', { exact: true }).waitFor();
      await page
        .getByRole('table', { name: 'Certificates of this user' })
        .getByText(`On hold by request #${number}`)
        .first()
        .waitFor();
      expect(await ocspAll(card.id)).toEqual(['revoked certificateHold']);

      // The issuance officer finds it in their queue (the one they see first).
      const ivan = await newPerson();
      await signInOperator(ivan, 'ivan.issuer', srv.demoPassword!);
      await ivan
        .getByRole('navigation', { name: 'Operator sections' })
        .getByRole('link', { name: 'Requests' })
        .click();
      await ivan.getByRole('heading', { level: 1, name: 'Requests' }).waitFor();
      expect(
        await ivan
          .getByRole('navigation', { name: 'Queues' })
          .getByRole('link', { name: 'Awaiting issuance' })
          .getAttribute('aria-current'),
      ).toBe('page');
      const queue = ivan.getByRole('table', { name: 'Awaiting issuance' });
      await queue
        .getByRole('row')
        .filter({ hasText: 'Alice Archer' })
        .getByRole('link', { name: `Request #${number}` })
        .click();
      await ivan.getByRole('heading', { level: 1, name: `Request #${number}` }).waitFor();
      const history = ivan.getByRole('table', { name: 'History of this request' });
      await history
        .getByRole('row')
        .filter({ hasText: 'Submitted' })
        .filter({ hasText: 'hannah.help' })
        .waitFor();
      await ivan
        .getByRole('region', { name: 'Request', exact: true })
        .getByText('Lost on the train')
        .waitFor();
      // An issuance officer issues; approving and cancelling are other roles' steps.
      await ivan.getByRole('button', { name: 'Issue replacement' }).waitFor();
      expect(await ivan.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      expect(await ivan.getByRole('button', { name: 'Cancel request' }).count()).toBe(0);
      await shoot(ivan, '04-request-detail');
      await ivan.setViewportSize({ width: 390, height: 844 });
      await fitsWidth(ivan);
      await ivan.goto('/operator/requests?queue=all');
      await ivan
        .getByRole('table', { name: 'All requests' })
        .getByRole('link', { name: `Request #${number}` })
        .waitFor();
      await fitsWidth(ivan);
      await shoot(ivan, '05-requests-phone');
      await ivan.setViewportSize({ width: 1280, height: 900 });
      expect(pageErrors).toEqual([]);
    });

    it('bob reports his card stolen in the portal, vera.valid approves it, an issuance officer binds a card', async () => {
      const card = await deviceOf(CARDS.bob.serial);
      bobAnswers = await giveSecurityAnswers('bob');
      const answers = bobAnswers;
      const bob = await newPerson();
      await bob.goto('/portal');
      await bob.getByRole('button', { name: "I don't have my smart card" }).click();
      await bob.getByLabel('Username').fill('bob');
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      for (const [question, answer] of answers) await bob.getByLabel(question).fill(answer);
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByRole('heading', { level: 1, name: 'Without your smart card' }).waitFor();
      await bob.getByRole('button', { name: `Report a problem with my device ${CARDS.bob.serial}` }).click();
      await bob.getByRole('heading', { level: 1, name: 'Report a problem with my device' }).waitFor();
      await bob.getByLabel('It was stolen').check();
      await bob.getByLabel('I set it up myself here, once it is ready').check();
      await bob.getByLabel('Anything the help desk should know (optional)').fill('Taken from my bag');
      await expectLabelledControls(bob);
      await shoot(bob, '06-portal-report');
      await bob.getByRole('button', { name: 'Report the problem' }).click();
      const recorded = bob.getByRole('status').filter({ hasText: /recorded as request #\d+/ });
      await recorded.waitFor();
      const number = /#(\d+)/.exec((await recorded.textContent()) ?? '')![1]!;
      await bob
        .getByRole('table', { name: 'Your devices' })
        .getByRole('row')
        .filter({ hasText: String(CARDS.bob.serial) })
        .getByText('On hold — a replacement was requested')
        .waitFor();
      const reports = bob.getByRole('list', { name: 'Your reports' });
      await reports.getByText('Waiting for a validation officer').waitFor();
      expect(await ocspAll(card.id)).toEqual(['revoked certificateHold']);
      await bob.setViewportSize({ width: 390, height: 844 });
      await fitsWidth(bob);
      await shoot(bob, '07-portal-reported-phone');

      // The validation officer: first queue, the request, Approve.
      const vera = await newPerson();
      await signInOperator(vera, 'vera.valid', srv.demoPassword!);
      await vera.goto('/operator/requests');
      const queue = vera.getByRole('table', { name: 'Awaiting approval' });
      await queue
        .getByRole('row')
        .filter({ hasText: 'Bob Baker' })
        .getByRole('link', { name: `Request #${number}` })
        .click();
      await vera.getByRole('heading', { level: 1, name: `Request #${number}` }).waitFor();
      await vera.getByText('Taken from my bag').waitFor();
      await vera.getByRole('button', { name: 'Approve' }).click();
      const confirm = vera.getByRole('dialog', { name: `Approve: request #${number}?` });
      await confirm.getByLabel('Note (kept in the request’s history)').fill('Police report seen');
      await confirm.getByRole('button', { name: 'Approve' }).click();
      await vera
        .getByRole('status')
        .filter({ hasText: `Request #${number} is approved.` })
        .waitFor();
      const history = vera.getByRole('table', { name: 'History of this request' });
      await history
        .getByRole('row')
        .filter({ hasText: 'Approved' })
        .filter({ hasText: 'vera.valid' })
        .waitFor();
      await history.getByRole('row').filter({ hasText: 'Submitted' }).filter({ hasText: 'bob' }).waitFor();
      // Still on hold: approving changes nothing at the CA.
      expect(await ocspAll(card.id)).toEqual(['revoked certificateHold']);

      // The issuance officer binds a blank card for bob to set up himself.
      const ivan = await newPerson();
      await signInOperator(ivan, 'ivan.issuer', srv.demoPassword!);
      await ivan.goto('/operator/requests?queue=binding');
      await ivan
        .getByRole('table', { name: 'Awaiting binding' })
        .getByRole('row')
        .filter({ hasText: 'Bob Baker' })
        .getByRole('link', { name: `Request #${number}` })
        .click();
      await ivan.getByRole('button', { name: 'Bind device' }).click();
      const bind = ivan.getByRole('dialog', { name: `Bind a device for request #${number}` });
      await bind
        .getByLabel('Blank device')
        .selectOption({ label: `${CARDS.bobNew.serial} — Emulated PIV card` });
      await bind.getByRole('button', { name: 'Bind device' }).click();
      await ivan
        .getByRole('status')
        .filter({ hasText: `Device ${CARDS.bobNew.serial} is bound to Bob` })
        .waitFor();
      expect((await deviceOf(CARDS.bobNew.serial)).state).toBe('bound');
      expect(pageErrors).toEqual([]);
    });

    it('the issuance officer issues alice’s replacement from the request: the lost card ends, revoked as compromised', async () => {
      const lost = await deviceOf(CARDS.alice.serial);
      const ivan = await newPerson();
      await signInOperator(ivan, 'ivan.issuer', srv.demoPassword!);
      await ivan.goto('/operator/requests?queue=issuance');
      await ivan
        .getByRole('table', { name: 'Awaiting issuance' })
        .getByRole('row')
        .filter({ hasText: 'Alice Archer' })
        .getByRole('link', { name: /^Request #/ })
        .click();
      const title = ivan.getByRole('heading', { level: 1, name: /^Request #/ });
      await title.waitFor();
      const number = /#(\d+)/.exec((await title.textContent()) ?? '')![1]!;
      await ivan.getByRole('button', { name: 'Issue replacement' }).click();
      const dlg = ivan.getByRole('dialog', { name: /Issue the replacement for Alice/ });
      await dlg.getByRole('radio', { name: new RegExp(CARDS.aliceNew.reader) }).check();
      await dlg.getByLabel('PIN', { exact: true }).fill('582936');
      await expectLabelledControls(ivan);
      await dlg.getByRole('button', { name: 'Continue' }).click();
      await ivan
        .locator('dialog[open]')
        .filter({ has: ivan.getByRole('heading', { name: 'Device issued' }) })
        .waitFor({ timeout: 120_000 });
      await ivan.getByRole('button', { name: 'Done' }).click();
      await expect
        .poll(async () => (await ivan.locator('.page-header__intro').textContent()) ?? '', POLL)
        .toContain('Completed');
      await ivan
        .getByRole('table', { name: 'History of this request' })
        .getByRole('row')
        .filter({ hasText: 'ivan.issuer' })
        .first()
        .waitFor();
      await shoot(ivan, '08-request-completed');

      // The lost card is terminated and its certificates revoked as compromised; the new one is alice's.
      expect((await deviceOf(CARDS.alice.serial)).state).toBe('terminated');
      expect(await ocspAll(lost.id)).toEqual(['revoked keyCompromise']);
      const fresh = await deviceOf(CARDS.aliceNew.serial);
      expect(fresh).toMatchObject({ state: 'active', userId: ids.alice });
      expect(await ocspAll(fresh.id)).toEqual(['good']);
      // The help desk sees it on alice's page.
      await openUser(page, 'alice');
      await deviceRow(page, CARDS.aliceNew.serial).getByText('Active', { exact: true }).waitFor();
      await deviceRow(page, CARDS.alice.serial).getByText('Terminated', { exact: true }).waitFor();
      await page.goto('/operator/requests?queue=all&state=completed');
      await page
        .getByRole('table', { name: 'All requests' })
        .getByRole('link', { name: `Request #${number}` })
        .waitFor();
      expect(pageErrors).toEqual([]);
    });

    it('bob sets up his bound replacement in the portal: the stolen card ends, revoked as compromised', async () => {
      const stolen = await deviceOf(CARDS.bob.serial);
      // Signs in again without the card, with the answers he recorded.
      const answers = bobAnswers;
      const bob = await newPerson();
      await bob.goto('/portal');
      await bob.getByRole('button', { name: "I don't have my smart card" }).click();
      await bob.getByLabel('Username').fill('bob');
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      for (const [question, answer] of answers) await bob.getByLabel(question).fill(answer);
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      const reports = bob.getByRole('list', { name: 'Your reports' });
      await reports.getByText(`Your new card ${CARDS.bobNew.serial} is ready`).waitFor();
      await reports.getByRole('button', { name: 'Set up my new card' }).click();
      await bob.getByRole('heading', { level: 1, name: 'Insert your smart card' }).waitFor();
      await expect
        .poll(() => bob.getByRole('list', { name: 'Card readers' }).textContent(), POLL)
        .toContain(`Your card ${CARDS.bobNew.serial} — ready to be set up.`);
      await bob.getByRole('button', { name: 'Set up my card', exact: true }).click();
      await bob.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      await bob.getByLabel('New PIN', { exact: true }).fill('719358');
      await bob.getByLabel('Confirm New PIN').fill('719358');
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByRole('heading', { name: 'Your card is ready' }).waitFor();
      await bob.setViewportSize({ width: 390, height: 844 });
      await fitsWidth(bob);
      await shoot(bob, '09-portal-replacement-ready');

      expect((await deviceOf(CARDS.bob.serial)).state).toBe('terminated');
      expect(await ocspAll(stolen.id)).toEqual(['revoked keyCompromise']);
      const fresh = await deviceOf(CARDS.bobNew.serial);
      expect(fresh).toMatchObject({ state: 'active', userId: ids.bob });
      const mine = (
        await admin.json<{ items: { state: string; userId: string }[] }>(
          'GET',
          `/api/requests?userId=${ids.bob}`,
        )
      ).body.items;
      expect(mine.map((r) => r.state)).toEqual(['completed']);
      expect(pageErrors).toEqual([]);
    });

    it('carol forgot her card: a temporary card is issued, then terminated and her own card comes back', async () => {
      const own = await deviceOf(CARDS.carol.serial);
      // The help desk requests the temporary card.
      await openUser(page, 'carol');
      await deviceRow(page, CARDS.carol.serial).getByRole('button', { name: 'Replace…' }).click();
      const dlg = page.getByRole('dialog', { name: `Replace device ${CARDS.carol.serial}` });
      await dlg.getByLabel(/^Forgotten/).check();
      await dlg.getByLabel(/^Local issuance/).check();
      await dlg.getByRole('button', { name: 'Request replacement' }).click();
      const made = page.getByRole('status').filter({ hasText: /Replacement request #\d+ is approved/ });
      await made.waitFor();
      const number = /#(\d+)/.exec((await made.textContent()) ?? '')![1]!;
      expect(await ocspAll(own.id)).toEqual(['revoked certificateHold']);

      // The issuance officer issues the temporary card from the request.
      const ivan = await newPerson();
      await signInOperator(ivan, 'ivan.issuer', srv.demoPassword!);
      await ivan.goto('/operator/requests?queue=issuance');
      await ivan
        .getByRole('table', { name: 'Awaiting issuance' })
        .getByRole('link', { name: `Request #${number}` })
        .click();
      await ivan.getByText('Forgotten — a temporary device').waitFor();
      await ivan.getByRole('button', { name: 'Issue replacement' }).click();
      const issue = ivan.getByRole('dialog', { name: /Issue the replacement for Carol/ });
      await issue.getByRole('radio', { name: new RegExp(CARDS.carolTemp.reader) }).check();
      await issue.getByLabel('PIN', { exact: true }).fill('582936');
      await issue.getByRole('button', { name: 'Continue' }).click();
      await ivan
        .locator('dialog[open]')
        .filter({ has: ivan.getByRole('heading', { name: 'Device issued' }) })
        .waitFor({ timeout: 120_000 });
      await ivan.getByRole('button', { name: 'Done' }).click();
      const temp = await deviceOf(CARDS.carolTemp.serial);
      expect(temp).toMatchObject({ state: 'active', userId: ids.carol });
      expect(await ocspAll(temp.id)).toEqual(['good']);

      // Carol found her card: the help desk terminates the temporary one.
      await openUser(page, 'carol');
      const tempRow = deviceRow(page, CARDS.carolTemp.serial);
      await tempRow.getByText(`Temporary replacement: request #${number}`).waitFor();
      await tempRow.getByRole('button', { name: 'Terminate' }).click();
      const confirm = page.getByRole('dialog', { name: `Terminate device ${CARDS.carolTemp.serial}?` });
      await confirm.getByText(`the original device of request #${number} comes back into service`).waitFor();
      await confirm.getByRole('button', { name: 'Terminate' }).click();
      await page.getByRole('status').filter({ hasText: 'is terminated' }).waitFor();
      await tempRow.getByText('Terminated', { exact: true }).waitFor();
      await deviceRow(page, CARDS.carol.serial).getByText('Active', { exact: true }).waitFor();
      expect(await ocspAll(own.id)).toEqual(['good']);
      expect(await ocspAll(temp.id)).toEqual(['revoked cessationOfOperation']);
      expect(pageErrors).toEqual([]);
    });

    it('a request changed while the help desk looks at it is refused with what happened; cancelling restores the card', async () => {
      // alice's replacement card is damaged too: hannah requests one, for self-enrollment.
      const card = await deviceOf(CARDS.aliceNew.serial);
      await openUser(page, 'alice');
      await deviceRow(page, CARDS.aliceNew.serial).getByRole('button', { name: 'Replace…' }).click();
      const dlg = page.getByRole('dialog', { name: `Replace device ${CARDS.aliceNew.serial}` });
      await dlg.getByLabel(/^Damaged/).check();
      await dlg.getByLabel(/^Self-enrollment/).check();
      await dlg.getByRole('button', { name: 'Request replacement' }).click();
      const row = deviceRow(page, CARDS.aliceNew.serial);
      await row.getByRole('link', { name: /^request #\d+$/ }).click();
      const title = page.getByRole('heading', { level: 1, name: /^Request #/ });
      await title.waitFor();
      const number = /#(\d+)/.exec((await title.textContent()) ?? '')![1]!;
      expect(await ocspAll(card.id)).toEqual(['revoked certificateHold']);

      // Meanwhile an administrator binds a blank device to it (another operator, through the API).
      const requestId = page.url().split('/').pop()!;
      const blank = await admin.json<{ id: string }>('POST', '/api/devices', {
        serial: '50000099',
        type: 'piv_card',
        model: 'Emulated PIV card',
      });
      expect(
        (await admin.json('POST', `/api/requests/${requestId}/bind`, { deviceId: blank.body.id })).status,
      ).toBe(200);

      // hannah cancels the request as she saw it: refused, saying what happened.
      await page.getByRole('button', { name: 'Cancel request' }).click();
      const confirm = page.getByRole('dialog', { name: `Cancel request: request #${number}?` });
      await confirm.getByRole('button', { name: 'Cancel request' }).click();
      await confirm
        .getByRole('alert')
        .getByText(/while you were looking at it: reload it and decide again/)
        .waitFor();
      expect(await confirm.getByRole('alert').textContent()).toContain(srv.admin.username);
      await shoot(page, '10-request-changed-meanwhile');
      await confirm.getByRole('button', { name: 'Back', exact: true }).click();
      // Reloaded: bound to the new device now; cancelling again goes through.
      await page.getByRole('region', { name: 'Request', exact: true }).getByText('50000099').waitFor();
      await page.getByRole('button', { name: 'Cancel request' }).click();
      await page
        .getByRole('dialog', { name: `Cancel request: request #${number}?` })
        .getByRole('button', { name: 'Cancel request' })
        .click();
      await page
        .getByRole('status')
        .filter({ hasText: `Request #${number} is cancelled.` })
        .waitFor();
      expect(await ocspAll(card.id)).toEqual(['good']);
      expect((await deviceOf(CARDS.aliceNew.serial)).state).toBe('active');
      expect((await deviceOf(50_000_099)).state).toBe('inventory');
      expect(pageErrors).toEqual([]);
    });
  },
);
