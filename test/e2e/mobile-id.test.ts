// Get mobile ID end to end in Chromium (reference 004), two browser contexts: the person's desktop
// user portal and their phone (390×844, touch) running the wallet. alice: Dashboard → Get Mobile ID
// → Next → the QR code in the portal → Next; her phone opens the link, is personalized with the
// policy's certificates, she chooses the PIN on the phone; the portal says the mobile ID is active
// and "Mobile ID" lists the active profile. carol: the policy e-mails the QR code; the test reads the
// message from a real SMTP server on loopback and opens its link in the wallet. The certificates pass
// openssl verify and OCSP says good. The operator's User page lists the mobile ID and suspends it.
// dana opens the portal on a phone-sized screen (not a second screen): e-mail is chosen for her,
// the message arrives; another tab says why she cannot order a second one meanwhile (Next
// disabled); Cancel leaves a cancelled order with no phone.
// The administrator then requires the PIV card (a derived credential): bob inserts his card into
// his own agent's reader, types its PIN in the portal (a wrong one first: the tries left are
// shown), his card signs the server's challenge, and only then is the QR code shown.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslDir, hasOpenssl, ocspStatuses } from '../pki/openssl.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { pairAgent, signIn, until } from '../agent/support.js';
import { AgentClient } from '../../src/agent/agent-client.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { portalSession } from '../wallet/support.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  expectDisabledButtonsExplained,
  expectLabelledControls,
  hasChromium,
  launchChromium,
  screenshot,
  screenshotDir,
  signInOperator,
} from './browser.js';

const PHONE = { width: 390, height: 844 };
type Cert = { id: string; caId: string; status: string };
type View = { id: string; state: string; device: { id: string } | null };

describe.skipIf(!hasChromium || !hasOpenssl)(
  'get mobile ID (Chromium, SMTP, openssl)',
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let smtp: TestSmtp;
    let admin: ApiClient;
    let browser: Browser;
    let phones: BrowserContext[] = [];
    let shots: string;
    const pageErrors: string[] = [];
    const ssl = new OpensslDir();
    const agents: AgentClient[] = [];
    const runAgent = async (token: string, readers: MemoryReaderSet) => {
      const client = new AgentClient({ server: srv.url, token, readers, hostname: 'e2e' });
      agents.push(client);
      client.start();
      await client.waitConnected(30_000);
    };

    const watch = (p: Page, who: string) => {
      p.on('pageerror', (err) => pageErrors.push(`${who}: ${String(err)}`));
      p.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
          pageErrors.push(`${who}: ${msg.text()}`);
      });
    };
    const shoot = (p: Page, name: string) => screenshot(p, shots, `mobile-id-${name}`);
    const common = () => ({ baseURL: srv.url, locale: BROWSER_LOCALE, timezoneId: BROWSER_TIME_ZONE });
    /** A desktop browser of its own (one person's portal session, or the operator's). */
    const newDesk = async (who: string) => {
      const c = await browser.newContext({ ...common(), viewport: { width: 1280, height: 860 } });
      c.setDefaultTimeout(30_000);
      phones.push(c);
      const p = await c.newPage();
      watch(p, who);
      return p;
    };
    const newPhone = async (who: string) => {
      const c = await browser.newContext({
        ...common(),
        viewport: PHONE,
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      });
      c.setDefaultTimeout(30_000);
      phones.push(c);
      const p = await c.newPage();
      watch(p, who);
      return p;
    };

    // Statuses without their reasons: this test asks only good or revoked.
    const ocsp = async (certs: Cert[]) =>
      (
        await ocspStatuses(ssl, srv.url, certs, async (id) =>
          (await admin.call('GET', `/api/certificates/${id}/pem`)).text(),
        )
      ).map((s) => s.split(' ')[0]!);
    const userId = async (username: string) =>
      (
        await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`)
      ).body.items.find((u) => u.username === username)!.id;

    /** Dashboard → Get Mobile ID, signed in with a fresh initial password. */
    const getMobileId = async (portal: Page, username: string) => {
      const ip = await admin.json<{ password: string }>(
        'POST',
        `/api/users/${await userId(username)}/initial-password`,
        {
          delivery: 'displayed',
        },
      );
      await portal.goto('/portal');
      await portal.getByRole('button', { name: 'Get Mobile ID', exact: true }).click();
      await portal.getByLabel('Username').fill(username);
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      await portal.getByLabel('Initial password').fill(ip.body.password);
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      // First sign-in: the portal asks for the security questions first, then goes on to the mobile ID.
      await portal.getByRole('heading', { level: 1, name: 'Set your security questions' }).waitFor();
      for (const n of [1, 2, 3]) await portal.getByLabel(`Answer ${n}`).fill(`answer ${n} of ${username}`);
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      await portal.getByRole('heading', { level: 2, name: 'Get Mobile ID' }).waitFor();
    };

    /** The phone opens the link, is personalized, and the PIN is chosen on it. */
    const onPhone = async (wallet: Page, href: string, pin: string) => {
      await wallet.goto(href);
      await wallet.getByLabel('New PIN', { exact: true }).waitFor({ timeout: 90_000 });
      await wallet.getByLabel('New PIN', { exact: true }).fill(pin);
      await wallet.getByLabel('New PIN again').fill(pin);
      await wallet.getByRole('button', { name: 'Set PIN' }).click();
      await wallet.getByText('This phone is your smart card now.').waitFor();
      expect(new URL(wallet.url()).hash).toBe('');
    };

    beforeAll(async () => {
      await ensureWebBuilt();
      smtp = await startSmtp({ plain: true });
      srv = await startTestServer({
        demo: true,
        config: { smtpUrl: `${smtp.url}?tls=none`, mailRetrySeconds: 1 },
      });
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      browser = await launchChromium();
      shots = screenshotDir();
    }, 240_000);

    afterAll(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await browser?.close();
      await srv?.close();
      await smtp?.close();
      ssl.dispose();
      phones = [];
    });

    it('alice by the QR code in the portal: active, "Mobile ID" shows it, certificates verified and good', async () => {
      const portal = await newDesk('alice portal');
      const wallet = await newPhone('alice phone');
      await getMobileId(portal, 'alice');
      // A desktop is a second screen: the QR code is shown here unless she asks for e-mail.
      expect(await portal.getByLabel(/E-mail it to me instead/).isChecked()).toBe(false);
      await expectLabelledControls(portal);
      await shoot(portal, '01-get');
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      const qr = portal.getByRole('img', { name: 'QR code of your mobile ID link' });
      await qr.waitFor();
      expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth > 0)).toBe(true);
      const href = (await portal.getByRole('link', { name: /\/wallet$/ }).getAttribute('href'))!;
      expect(href).toMatch(new RegExp(`^${srv.url}/wallet#link=[A-Z0-9]{10}\\.[A-Za-z0-9_-]{43}$`));
      await shoot(portal, '02-qr');
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await portal.getByText('Waiting for your phone to open the link').waitFor();

      await onPhone(wallet, href, '281739');
      await shoot(wallet, '03-phone-done');
      await portal.getByText('Your mobile ID is active.').waitFor({ timeout: 60_000 });
      await shoot(portal, '04-active');
      await portal.getByRole('button', { name: 'Mobile ID', exact: true }).click();
      const row = portal
        .getByRole('table', { name: 'Your mobile IDs' })
        .getByRole('row')
        .filter({ hasText: 'Active' });
      await row.waitFor();
      expect(await row.textContent()).toContain('Mobile ID (demo)');
      await shoot(portal, '05-menu');

      const mine = (
        await admin.json<{ items: View[] }>('GET', `/api/users/${await userId('alice')}/mobile-ids`)
      ).body.items;
      expect(mine.map((m) => m.state)).toEqual(['active']);
      const certs = (
        await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${mine[0]!.device!.id}`)
      ).body.items;
      expect(certs).toHaveLength(2);
      expect(await ocsp(certs)).toEqual(['good', 'good']);

      // The operator's User page lists it and suspends it.
      const op = await newDesk('operator');
      await signInOperator(op, srv.admin.username, srv.admin.password);
      await op.goto(`/operator/users/${await userId('alice')}`);
      const section = op.getByRole('table', { name: 'Mobile IDs' });
      await section.getByRole('row').filter({ hasText: 'Active' }).waitFor();
      await section.getByRole('button', { name: /^Suspend the mobile ID/ }).click();
      await section.getByRole('row').filter({ hasText: 'Suspended' }).waitFor();
      await shoot(op, '06-operator');
      expect(await ocsp(certs)).toEqual(['revoked', 'revoked']);
    });

    it('the portal on a phone-sized screen (no second screen): e-mail is chosen for dana; Cancel voids it', async () => {
      const username = `dana.${Date.now().toString(36)}`;
      const made = await admin.json<{ id: string; email: string }>('POST', '/api/users', {
        username,
        displayName: 'Dana Phone',
        email: `${username}@example.org`,
      });
      expect(made.status).toBe(201);
      const portal = await newPhone('dana portal on her phone');
      const seen = smtp.received.length;
      await getMobileId(portal, username);
      expect(await portal.getByLabel(/E-mail it to me instead/).isChecked()).toBe(true);
      await portal.getByText('This page seems to be open on your phone').waitFor();
      await portal.getByText('Next sends you an e-mail with a QR code').waitFor();
      await shoot(portal, '06a-phone-screen');
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await portal.getByText('We e-mailed a QR code and a link to').waitFor();
      expect(await portal.getByRole('img', { name: 'QR code of your mobile ID link' }).count()).toBe(0);
      const mail = await smtp.next(seen);
      expect(mail.rcptTo).toEqual([`${username}@example.org`]);
      expect(mail.text).toMatch(/\/wallet#link=/);
      await shoot(portal, '06b-phone-emailed');
      // Meanwhile the portal (another tab, same session) says why she cannot order a second one.
      const other = await portal.context().newPage();
      await other.goto('/portal');
      await other.getByRole('button', { name: 'Get Mobile ID', exact: true }).click();
      await other.getByText('A mobile ID of yours is being created: finish or cancel it first').waitFor();
      expect(await other.getByRole('button', { name: 'Next', exact: true }).isDisabled()).toBe(true);
      await other.close();
      await portal.getByRole('button', { name: 'Cancel', exact: true }).click();
      await portal.getByRole('button', { name: 'Get Mobile ID', exact: true }).waitFor();
      const mine = (await admin.json<{ items: View[] }>('GET', `/api/users/${made.body.id}/mobile-ids`)).body
        .items;
      expect(mine.map((m) => m.state)).toEqual(['cancelled']);
      expect(mine[0]!.device).toBeNull();
    });

    it('carol by e-mail: the QR code and link read from the SMTP server, opened in the wallet', async () => {
      const demo = (
        await admin.json<{ items: (Record<string, unknown> & { id: string; name: string })[] }>(
          'GET',
          '/api/mobile-id-policies',
        )
      ).body.items.find((p) => p.name === 'Mobile ID (demo)')!;
      const { id, version, createdAt, updatedAt, ...input } = demo;
      void version;
      void createdAt;
      void updatedAt;
      expect(
        (await admin.json('PUT', `/api/mobile-id-policies/${id}`, { ...input, qrDelivery: 'email' })).status,
      ).toBe(200);
      const portal = await newDesk('carol portal');
      const wallet = await newPhone('carol phone');
      const seen = smtp.received.length;
      await getMobileId(portal, 'carol');
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await portal.getByText('We e-mailed a QR code and a link to').waitFor();
      const mail = await smtp.next(seen);
      expect(mail.raw).toMatch(/Content-Type: image\/png/i);
      const href = /(http\S+\/wallet#link=\S+)/.exec(mail.text)![1]!;
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await onPhone(wallet, href, '975310');
      await portal.getByText('Your mobile ID is active.').waitFor({ timeout: 60_000 });
      await shoot(portal, '07-carol-active');
      const mine = (
        await admin.json<{ items: View[] }>('GET', `/api/users/${await userId('carol')}/mobile-ids`)
      ).body.items;
      const certs = (
        await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${mine[0]!.device!.id}`)
      ).body.items;
      expect(await ocsp(certs)).toEqual(['good', 'good']);
      expect(pageErrors).toEqual([]);
    });

    it('the administrator edits the mobile ID policy on its settings page', async () => {
      const page = await newDesk('admin settings');
      await signInOperator(page, srv.admin.username, srv.admin.password);
      await page.getByRole('link', { name: 'Mobile ID policies' }).click();
      await page.getByRole('heading', { level: 1, name: 'Mobile ID policies' }).waitFor();
      await page.getByRole('button', { name: 'Edit Mobile ID (demo)' }).click();
      await expectLabelledControls(page);
      await page.getByLabel('Shown in the user portal').check();
      await page.getByLabel(/^Digital Signature/).uncheck();
      await page.getByLabel('Valid for (days)').fill('60');
      await page.getByLabel('Notify the person by e-mail').selectOption('failure');
      await page.getByLabel(/^Require the PIV card/).check();
      await page.getByLabel('When that card is terminated with no card in its place').waitFor();
      await expectLabelledControls(page);
      await page.getByRole('button', { name: 'Save mobile ID policy' }).click();
      await page.getByText('The mobile ID policy “Mobile ID (demo)” is saved.').waitFor();
      await shoot(page, '08-policy-saved');
      const saved = (
        await admin.json<{
          items: {
            name: string;
            profiles: string[];
            validityDays: number;
            notify: string;
            qrDelivery: string;
            requireCard: boolean;
            cardEnd: string;
          }[];
        }>('GET', '/api/mobile-id-policies')
      ).body.items.find((p) => p.name === 'Mobile ID (demo)')!;
      expect(saved).toMatchObject({
        profiles: ['PIV Authentication'],
        validityDays: 60,
        notify: 'failure',
        qrDelivery: 'portal',
        requireCard: true,
        cardEnd: 'suspend',
      });
      expect(pageErrors).toEqual([]);
    });

    it('bob, with the PIV card required: the card PIN, the card signs the challenge, then the QR code', async () => {
      const PIN = '482913';
      // The help desk issues bob's card at their desk; bob takes it to his own reader.
      const desk = new MemoryReaderSet();
      desk.addReader('Desk');
      const deskAgent = await pairAgent(admin, 'Help desk');
      await runAgent(deskAgent.token, desk);
      const bobApi = await portalSession(srv.url, admin, 'bob');
      const laptop = await pairAgent(bobApi, 'Bob laptop');
      const bobReaders = new MemoryReaderSet();
      bobReaders.addReader('Bob reader');
      await runAgent(laptop.token, bobReaders);
      const card = new VirtualPivCard(newCardState({ serial: 73_000_001 }));
      desk.insert('Desk', card);
      const ecc = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
      ).body.items.find((p) => p.name.includes('ECC'))!.id;
      const start = await admin.json<{ job: { id: string } }>('POST', '/api/issuance', {
        userId: await userId('bob'),
        agentId: deskAgent.agentId,
        reader: 'Desk',
        action: 'issue',
        policyId: ecc,
        pin: PIN,
        pinConfirmation: PIN,
      });
      expect(start.status).toBe(202);
      const job = await until(
        'bob’s card to be issued',
        async () => {
          const j = (await admin.json<{ status: string }>('GET', `/api/issuance/jobs/${start.body.job.id}`))
            .body;
          return j.status === 'running' ? undefined : j;
        },
        60_000,
      );
      expect(job.status).toBe('succeeded');
      desk.remove('Desk');

      const portal = await newDesk('bob portal');
      const wallet = await newPhone('bob phone');
      await getMobileId(portal, 'bob');
      // No card in his reader yet: Next waits for it, saying why.
      await portal.getByText('Insert your card 73000001 into a reader of this computer').waitFor();
      expect(await portal.getByRole('button', { name: 'Next', exact: true }).isDisabled()).toBe(true);
      expect(await expectDisabledButtonsExplained(portal)).toContainEqual({
        name: 'Next',
        why: 'Waiting for your PIV card: insert it into a reader.',
      });
      bobReaders.insert('Bob reader', card);
      await portal.getByRole('button', { name: 'Look again', exact: true }).click();
      await portal.getByText('Your card 73000001 is in reader “Bob reader”.').waitFor();
      await expectLabelledControls(portal);
      // A wrong PIN: the card counts it and the portal says how many tries are left.
      await portal.getByLabel('Card PIN').fill('000000');
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await portal.getByText(/Wrong PIN for card 73000001: 2 attempts left/).waitFor();
      expect(await portal.getByLabel('Card PIN').inputValue()).toBe('');
      await shoot(portal, '09-card-pin-wrong');
      await portal.getByLabel('Card PIN').fill(PIN);
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await portal.getByRole('img', { name: 'QR code of your mobile ID link' }).waitFor();
      const href = (await portal.getByRole('link', { name: /\/wallet$/ }).getAttribute('href'))!;
      await portal.getByRole('button', { name: 'Next', exact: true }).click();
      await onPhone(wallet, href, '864202');
      await portal.getByText('Your mobile ID is active.').waitFor({ timeout: 60_000 });
      await portal.getByRole('button', { name: 'Mobile ID', exact: true }).click();
      const row = portal
        .getByRole('table', { name: 'Your mobile IDs' })
        .getByRole('row')
        .filter({ hasText: 'From your PIV card 73000001' });
      await row.waitFor();
      expect(await row.textContent()).toContain('Active');
      await shoot(portal, '10-derived-active');
      const mine = (
        await admin.json<{ items: (View & { derivedFrom: { serial: string } | null })[] }>(
          'GET',
          `/api/users/${await userId('bob')}/mobile-ids`,
        )
      ).body.items;
      expect(mine[0]).toMatchObject({ state: 'active', derivedFrom: { serial: '73000001' } });
      const certs = (
        await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${mine[0]!.device!.id}`)
      ).body.items;
      expect(await ocsp(certs)).toEqual(['good']);
      expect(pageErrors).toEqual([]);
    });
  },
);
