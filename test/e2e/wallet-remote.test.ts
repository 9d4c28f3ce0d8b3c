// Remote issuance end to end in Chromium (reference 003, "Remote Issuance Workflow (Mobile Smart
// Cards only)"), with two browser contexts: hannah.help at the help desk (operator portal) and bob's
// new phone (390×844, touch) running the wallet. Bob's first phone (a Node-side wallet, self-issued
// through the API) is lost: hannah replaces it from his User page with remote issuance (its
// certificates go on hold at once), and shows the request's one-time code; the new phone opens it,
// its wallet says "New credentials are ready for you", bob accepts, the phone is personalized, bob
// chooses his PIN on the phone; the request page turns completed by itself. openssl: the old phone's
// certificates revoked (keyCompromise), the new phone's verify and OCSP says good.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslDir, hasOpenssl } from '../pki/openssl.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn } from '../agent/support.js';
import { selfIssuedPhone } from '../wallet/support.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  launchChromium,
  screenshot,
  screenshotDir,
  signInOperator,
} from './browser.js';

const PHONE = { width: 390, height: 844 };
type Cert = { id: string; caId: string; status: string };

describe.skipIf(!hasChromium || !hasOpenssl)(
  "remote issuance: the help desk replaces bob's lost phone, his new phone enrolls (Chromium, openssl)",
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let browser: Browser;
    let desk: BrowserContext;
    let phone: BrowserContext;
    let hannah: Page;
    let wallet: Page;
    let shots: string;
    let bobId: string;
    const pageErrors: string[] = [];
    const ssl = new OpensslDir();

    const watch = (p: Page, who: string) => {
      p.on('pageerror', (err) => pageErrors.push(`${who}: ${String(err)}`));
      p.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
          pageErrors.push(`${who}: ${msg.text()}`);
      });
    };
    const shoot = (p: Page, name: string) => screenshot(p, shots, `remote-${name}`);

    /** Each certificate's status as the server's OCSP responder says it, asked with openssl. */
    const ocsp = async (certs: Cert[]): Promise<string[]> => {
      const ca = certs[0]!.caId;
      ssl.file('chain.pem', await (await fetch(`${srv.url}/pki/ca/${ca}/chain.pem`)).text());
      ssl.file('issuing.pem', await (await fetch(`${srv.url}/pki/ca/${ca}.pem`)).text());
      const out: string[] = [];
      for (const c of certs) {
        ssl.file(`${c.id}.pem`, await (await admin.call('GET', `/api/certificates/${c.id}/pem`)).text());
        expect(ssl.run(['verify', '-CAfile', 'chain.pem', `${c.id}.pem`]).out).toContain(': OK');
        const r = await ssl.runAsync(
          ['ocsp', '-issuer', 'issuing.pem', '-cert', `${c.id}.pem`, '-url', `${srv.url}/pki/ocsp`].concat([
            '-CAfile',
            'chain.pem',
          ]),
        );
        expect(r.out).toContain('Response verify OK');
        const reason = /Reason: (\w+)/.exec(r.out)?.[1];
        out.push(`${/\.pem: (\w+)/.exec(r.out)?.[1] ?? '?'}${reason ? ` ${reason}` : ''}`);
      }
      return [...new Set(out)];
    };
    const certsOf = async (deviceId: string) =>
      (await admin.json<{ items: Cert[] }>('GET', `/api/certificates?deviceId=${deviceId}`)).body.items;

    beforeAll(async () => {
      await ensureWebBuilt();
      srv = await startTestServer({ demo: true });
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
      browser = await launchChromium();
      const common = { baseURL: srv.url, locale: BROWSER_LOCALE, timezoneId: BROWSER_TIME_ZONE };
      desk = await browser.newContext({ ...common, viewport: { width: 1280, height: 860 } });
      phone = await browser.newContext({
        ...common,
        viewport: PHONE,
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      });
      for (const c of [desk, phone]) c.setDefaultTimeout(30_000);
      hannah = await desk.newPage();
      wallet = await phone.newPage();
      watch(hannah, 'desk');
      watch(wallet, 'wallet');
      shots = screenshotDir();
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await srv?.close();
      ssl.dispose();
    });

    it('replaced from the User page, enrolled on the new phone with the code the help desk shows', async () => {
      const first = await selfIssuedPhone(srv.url, admin, 'bob');
      const oldCerts = await certsOf(first.deviceId);
      expect(oldCerts.length).toBeGreaterThanOrEqual(2);
      const oldSerial = String(first.card.serial);

      // Hannah replaces the lost phone: remote issuance is offered for a phone.
      await signInOperator(hannah, 'hannah.help', srv.demoPassword!);
      await hannah.goto(`/operator/users/${bobId}`);
      const row = hannah
        .getByRole('table', { name: 'Devices of this user' })
        .getByRole('row')
        .filter({ hasText: oldSerial });
      await row.getByRole('button', { name: 'Replace…' }).click();
      const dlg = hannah.getByRole('dialog', { name: `Replace device ${oldSerial}` });
      await dlg.getByLabel(/^Lost/).check();
      await dlg.getByLabel(/^Remote issuance/).check();
      await dlg.getByRole('button', { name: 'Request replacement' }).click();
      const made = hannah.getByRole('status').filter({ hasText: /Replacement request #\d+ is approved/ });
      await made.waitFor();
      const number = /#(\d+)/.exec((await made.textContent()) ?? '')![1]!;
      expect(await ocsp(oldCerts)).toEqual(['revoked certificateHold']);

      // The request's page gives the code for the phone.
      const requestId = (
        await admin.json<{ items: { id: string; number: number }[] }>('GET', `/api/requests?userId=${bobId}`)
      ).body.items.find((r) => r.number === Number(number))!.id;
      await hannah.goto(`/operator/requests/${requestId}`);
      await hannah.getByText('the person’s enrolment on their phone').waitFor();
      await hannah.getByRole('button', { name: 'Show code for the phone' }).click();
      const qr = hannah.getByRole('img', { name: /QR code of the enrolment link/ });
      await qr.waitFor();
      expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth > 0)).toBe(true);
      const href = (await hannah.getByRole('link', { name: 'Enrolment link' }).getAttribute('href'))!;
      expect(href).toMatch(new RegExp(`^${srv.url}/wallet#link=[A-Z0-9]{10}\\.[A-Za-z0-9_-]{43}$`));
      await expectLabelledControls(hannah);
      await shoot(hannah, '01-desk-code');

      // Bob's new phone opens it (as scanning the QR code does): new credentials are ready.
      await wallet.goto(href);
      const offer = wallet.getByRole('region', { name: 'New credentials are ready for you' });
      await offer.waitFor();
      await offer.getByText(`your phone ${oldSerial}, reported lost (request #${number})`).waitFor();
      expect(new URL(wallet.url()).hash).toBe('');
      await expectLabelledControls(wallet);
      await shoot(wallet, '02-phone-offer');
      await offer.getByRole('button', { name: 'Set up my new credentials' }).click();

      // Personalized; the PIN is chosen on the phone (a weak one refused with the policy's reason).
      await wallet.getByLabel('New PIN', { exact: true }).waitFor({ timeout: 90_000 });
      await shoot(wallet, '03-phone-pin');
      await wallet.getByLabel('New PIN', { exact: true }).fill('123456');
      await wallet.getByLabel('New PIN again').fill('123456');
      await wallet.getByRole('button', { name: 'Set PIN' }).click();
      await wallet.getByRole('alert').filter({ hasText: /PIN/ }).waitFor();
      await wallet.getByLabel('New PIN', { exact: true }).fill('281739');
      await wallet.getByLabel('New PIN again').fill('281739');
      await wallet.getByRole('button', { name: 'Set PIN' }).click();
      await wallet.getByText('This phone is your smart card now.').waitFor();
      await wallet.getByTestId('wallet-certificates').filter({ hasText: '9A' }).waitFor();
      await shoot(wallet, '04-phone-done');

      // The help desk's page follows the request to its end.
      await hannah.getByText('nothing: it is completed').waitFor();
      await shoot(hannah, '05-desk-completed');

      const request = (await admin.json<{ replacementDeviceId: string }>('GET', `/api/requests/${requestId}`))
        .body;
      const device = (
        await admin.json<{ state: string; type: string; userId: string }>(
          'GET',
          `/api/devices/${request.replacementDeviceId}`,
        )
      ).body;
      expect(device).toMatchObject({ state: 'active', type: 'mobile', userId: bobId });
      expect((await admin.json<{ state: string }>('GET', `/api/devices/${first.deviceId}`)).body.state).toBe(
        'terminated',
      );
      expect(await ocsp(oldCerts)).toEqual(['revoked keyCompromise']);
      expect(await ocsp(await certsOf(request.replacementDeviceId))).toEqual(['good']);
      expect(pageErrors).toEqual([]);
    });
  },
);
