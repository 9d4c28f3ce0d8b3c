// The mobile smart card end to end in Chromium, with two browser contexts: bob's desktop in the
// user portal and his phone (390×844, touch) running the wallet at /wallet. The portal's "Issue to
// my phone" shows a QR code and link; the phone opens the link, its wallet (the PIV card
// application on WebCrypto, state in IndexedDB) connects over the WebSocket link and appears in the
// portal as "Bob Baker (demo)'s phone"; the self-issuance runs on it (progress, new PIN, done) while
// the phone shows what the server does. Then: the device is an active mobile smart card, its
// certificates verify with `openssl verify` and OCSP (openssl against the running server) says
// good; in the phone's page the storage key cannot be exported and no card key is in the clear;
// the installed shell opens offline (service worker); Reset wipes the wallet, and the server, told at
// once, terminates the wiped phone and revokes its certificates.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpensslDir, hasOpenssl } from '../pki/openssl.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn } from '../agent/support.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  launchChromium,
  POLL,
  screenshot,
  screenshotDir,
  signInOperator,
} from './browser.js';

const PIN = '135790';
const PHONE = { width: 390, height: 844 };

describe.skipIf(!hasChromium || !hasOpenssl)(
  "bob's phone as a mobile smart card (Chromium: portal + wallet, openssl)",
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let browser: Browser;
    let desk: BrowserContext;
    let phone: BrowserContext;
    let portal: Page;
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
    /** A phone: its own browser profile (so its own IndexedDB: its own wallet). */
    const newPhone = () =>
      browser.newContext({
        baseURL: srv.url,
        locale: BROWSER_LOCALE,
        timezoneId: BROWSER_TIME_ZONE,
        viewport: PHONE,
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      });
    const shoot = (p: Page, name: string) => screenshot(p, shots, name);

    beforeAll(async () => {
      await ensureWebBuilt();
      srv = await startTestServer({ demo: true });
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
      // Retry is the person's own (the portal shows it); no security questions before the card.
      const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
      await admin.json('PUT', '/api/settings', {
        ...settings,
        issuanceRetryForUser: true,
        portalAuthMethods: ['initial_password'],
      });
      browser = await launchChromium();
      const common = { baseURL: srv.url, locale: BROWSER_LOCALE, timezoneId: BROWSER_TIME_ZONE };
      desk = await browser.newContext({ ...common, viewport: { width: 1280, height: 860 } });
      phone = await newPhone();
      for (const c of [desk, phone]) c.setDefaultTimeout(30_000);
      portal = await desk.newPage();
      wallet = await phone.newPage();
      watch(portal, 'portal');
      watch(wallet, 'wallet');
      shots = screenshotDir();
    }, 240_000); // the machine is shared: a demo server and Chromium may take a while to start

    afterAll(async () => {
      await browser?.close();
      await srv?.close();
      ssl.dispose();
    });

    it('bob issues a mobile smart card to his phone from the user portal', async () => {
      // The phone opens the wallet before any link: a blank card, not linked.
      await wallet.goto('/wallet');
      await wallet.getByRole('heading', { level: 1, name: 'Tessera wallet' }).waitFor();
      await wallet.getByText('Not linked to a server.').waitFor();
      const blankSerial = await wallet.getByTestId('wallet-serial').textContent();
      expect(blankSerial).toMatch(/^\d{8}$/);
      await expectLabelledControls(wallet);

      // Bob signs in to the portal on his desktop with his initial password.
      const ip = await admin.json<{ password: string }>('POST', `/api/users/${bobId}/initial-password`, {});
      await portal.goto('/portal');
      await portal.getByRole('button', { name: 'Start', exact: true }).click();
      await portal.getByLabel('Username').fill('bob');
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      await portal.getByLabel('Initial password').fill(ip.body.password);
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      await portal.getByRole('heading', { level: 1, name: 'Insert your smart card' }).waitFor();

      await portal.getByText('Or make your phone your smart card').click();
      await portal.getByRole('button', { name: 'Issue to my phone' }).click();
      const qr = portal.getByRole('img', { name: 'QR code of the link for your phone' });
      await qr.waitFor();
      expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth > 0)).toBe(true);
      const href = (await portal.getByRole('link', { name: 'Wallet link' }).getAttribute('href'))!;
      expect(href).toMatch(new RegExp(`^${srv.url}/wallet#link=[A-Z0-9]{10}\\.[A-Za-z0-9_-]{43}$`));
      await shoot(portal, '01-portal-qr');

      // The phone follows the link (as scanning the QR code does): the wallet links and connects.
      await wallet.goto(href);
      await wallet
        .getByText("Connected. The server sees this phone as “Bob Baker (demo)'s phone”.")
        .waitFor();
      // The used code left the address bar (a reload must not present it again).
      expect(new URL(wallet.url()).hash).toBe('');
      expect(await wallet.getByTestId('wallet-serial').textContent()).toBe(blankSerial);
      await shoot(wallet, '02-wallet-linked');

      // The portal lists the phone like a card in a reader, and the self-issuance runs on it.
      const readers = portal.getByRole('list', { name: 'Card readers' });
      await expect
        .poll(() => readers.textContent(), POLL)
        .toContain(`Your phone’s wallet ${blankSerial} — ready to be set up.`);
      await expect.poll(() => readers.textContent(), POLL).toContain("Bob Baker (demo)'s phone");
      await portal.getByText("Bob Baker (demo)'s phone is connected.").waitFor();
      await portal.getByRole('button', { name: 'Set up my phone', exact: true }).click();
      await portal.getByRole('heading', { name: 'Personalizing your phone' }).waitFor();
      await portal.getByRole('progressbar', { name: 'Issuance progress' }).waitFor();
      await wallet.getByText(/Personalizing…/).waitFor();
      await shoot(wallet, '03-wallet-personalizing');

      await portal.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      await wallet.getByText('Choose your new PIN').waitFor();
      await shoot(wallet, '04-wallet-asks-pin');
      await portal.getByLabel('New PIN', { exact: true }).fill(PIN);
      await portal.getByLabel('Confirm New PIN').fill(PIN);
      await portal.getByRole('button', { name: 'Continue', exact: true }).click();
      await portal.getByRole('heading', { name: 'Your phone is ready' }).waitFor();
      await portal.getByText(`Your phone’s wallet ${blankSerial} is set up as a mobile smart card`).waitFor();
      await wallet.getByText('This phone is your smart card now.').waitFor();
      await expect.poll(() => wallet.getByTestId('wallet-certificates').textContent(), POLL).toMatch(/9A/);
      await shoot(portal, '05-portal-ready');
      await shoot(wallet, '06-wallet-done');
      await portal.getByRole('button', { name: 'Done', exact: true }).click();

      const device = (
        await admin.json<{ items: { id: string; serial: string; type: string; state: string }[] }>(
          'GET',
          `/api/users/${bobId}/devices`,
        )
      ).body.items.find((d) => d.serial === blankSerial)!;
      expect(device).toMatchObject({ type: 'mobile', state: 'active' });

      // Its certificates chain to the CA (openssl verify) and OCSP, asked of the server, says good.
      const certs = (
        await admin.json<{ items: { id: string; caId: string; status: string; slot: string | null }[] }>(
          'GET',
          `/api/certificates?deviceId=${device.id}`,
        )
      ).body.items;
      expect(certs.length).toBeGreaterThanOrEqual(2);
      const issuing = certs[0]!.caId;
      ssl.file('chain.pem', await (await fetch(`${srv.url}/pki/ca/${issuing}/chain.pem`)).text());
      ssl.file('issuing.pem', await (await fetch(`${srv.url}/pki/ca/${issuing}.pem`)).text());
      for (const [i, c] of certs.entries()) {
        expect(c.status).toBe('valid');
        ssl.file(`c${i}.pem`, await (await admin.call('GET', `/api/certificates/${c.id}/pem`)).text());
        expect(ssl.run(['verify', '-CAfile', 'chain.pem', `c${i}.pem`]).out).toContain(`c${i}.pem: OK`);
        const ocsp = await ssl.runAsync([
          'ocsp',
          '-issuer',
          'issuing.pem',
          '-cert',
          `c${i}.pem`,
          '-url',
          `${srv.url}/pki/ocsp`,
          '-CAfile',
          'chain.pem',
        ]);
        expect(ocsp.out).toContain('Response verify OK');
        expect(ocsp.out).toContain(`c${i}.pem: good`);
      }
      expect(pageErrors).toEqual([]);
    });

    it("the phone's keys cannot be exported: a non-extractable storage key, card keys only sealed", async () => {
      const found = await wallet.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const r = indexedDB.open('tessera-wallet');
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
        const read = (key: string) =>
          new Promise<unknown>((resolve, reject) => {
            const r = db.transaction('wallet').objectStore('wallet').get(key);
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
          });
        const storageKey = (await read('storageKey')) as CryptoKey;
        const card = (await read('card')) as { keys: Record<string, { privateKey: string }> };
        const exports: string[] = [];
        for (const format of ['raw', 'jwk'] as const)
          exports.push(
            await crypto.subtle.exportKey(format, storageKey).then(
              () => 'exported',
              (e: Error) => e.name,
            ),
          );
        // Each sealed card key, opened by hand as the card would, is usable only inside the page;
        // as a WebCrypto key imported for signing it is not extractable either.
        return {
          type: storageKey.type,
          algorithm: storageKey.algorithm.name,
          extractable: storageKey.extractable,
          exports,
          slots: Object.keys(card.keys).sort(),
          sealed: Object.values(card.keys).every((k) => k.privateKey.startsWith('wjwk1:')),
          clear: JSON.stringify(card).includes('"d":'),
        };
      });
      expect(found).toMatchObject({
        type: 'secret',
        algorithm: 'AES-GCM',
        extractable: false,
        exports: ['InvalidAccessError', 'InvalidAccessError'],
        sealed: true,
        clear: false,
      });
      expect(found.slots).toEqual(expect.arrayContaining(['9a', '9c']));
    });

    it('the installed wallet opens offline from its service worker; Reset wipes it', async () => {
      const manifest = await wallet.evaluate(async () => {
        const href = document.querySelector('link[rel=manifest]')!.getAttribute('href')!;
        return (await fetch(href)).json() as Promise<{ start_url: string; display: string; scope: string }>;
      });
      expect(manifest).toMatchObject({ start_url: '/wallet', scope: '/wallet', display: 'standalone' });
      const sw = await wallet.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
      expect(sw).toBe(`${srv.url}/wallet-sw.js`);
      const serial = await wallet.getByTestId('wallet-serial').textContent();

      await phone.setOffline(true);
      try {
        await wallet.reload();
        await wallet.getByRole('heading', { level: 1, name: 'Tessera wallet' }).waitFor();
        expect(await wallet.getByTestId('wallet-serial').textContent()).toBe(serial);
        await expect.poll(() => wallet.getByTestId('wallet-certificates').textContent(), POLL).toMatch(/9A/);
        await wallet.getByText(/The connection was lost|Connecting/).waitFor();
        await shoot(wallet, '07-wallet-offline');
      } finally {
        await phone.setOffline(false);
      }
      // Back online, it comes back with its token: the same wallet.
      await wallet.getByText("Connected. The server sees this phone as “Bob Baker (demo)'s phone”.").waitFor({
        timeout: 60_000,
      });

      await wallet.getByRole('button', { name: 'Reset this wallet' }).click();
      await wallet.getByRole('button', { name: 'Erase everything' }).click();
      // The server hears of it at once (the wallet reconnects with its token and the new card): the
      // wiped phone is terminated, its certificates revoked, its link ended.
      await wallet
        .getByText(/This wallet was reset, so what it held has been ended and its link too/)
        .waitFor();
      const wiped = (
        await admin.json<{ items: { id: string; serial: string; state: string }[] }>(
          'GET',
          `/api/users/${bobId}/devices`,
        )
      ).body.items.find((d) => d.serial === serial)!;
      expect(wiped.state).toBe('terminated');
      const held = (
        await admin.json<{ items: { status: string }[] }>('GET', `/api/certificates?deviceId=${wiped.id}`)
      ).body.items;
      expect(new Set(held.map((c) => c.status))).toEqual(new Set(['revoked']));
      await wallet.reload();
      await wallet.getByText('Not linked to a server.').waitFor();
      expect(await wallet.getByTestId('wallet-serial').textContent()).not.toBe(serial);
      expect(await wallet.getByTestId('wallet-certificates').textContent()).toBe('none yet');
      await shoot(wallet, '08-wallet-reset');
      // Chromium reports pages it cannot load offline as errors of their own; none of ours.
      expect(pageErrors).toEqual([]);
    });

    it('one wallet per phone: a link opened in a second tab is handed to the wallet already open', async () => {
      const link = await admin.json<{ url: string }>('POST', '/api/wallet/links', { userId: bobId });
      expect(link.status).toBe(201);
      const second = await phone.newPage();
      watch(second, 'second tab');
      await second.goto(link.body.url);
      await second.getByText('the link was handed to it').waitFor();
      expect(await second.getByTestId('wallet-serial').count()).toBe(0);
      await wallet
        .getByText("Connected. The server sees this phone as “Bob Baker (demo)'s phone”.")
        .waitFor();
      await second.close();
      expect(pageErrors).toEqual([]);
    });

    it("an issuance officer issues carol's phone from Add Device's Mobile smart card", async () => {
      const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
      await admin.json('PUT', '/api/settings', { ...settings, initialPinDisplayMode: 'disguised' });
      const carolId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=carol')).body
        .items[0]!.id;
      // The officer works at their own workstation: a browser of their own, not bob's desktop.
      const officerDesk = await browser.newContext({
        baseURL: srv.url,
        locale: BROWSER_LOCALE,
        timezoneId: BROWSER_TIME_ZONE,
        viewport: { width: 1280, height: 860 },
      });
      officerDesk.setDefaultTimeout(30_000);
      const officer = await officerDesk.newPage();
      officer.on('crash', () => pageErrors.push('operator: the page crashed'));
      watch(officer, 'operator');
      await signInOperator(officer, 'ivan.issuer', srv.demoPassword!);
      await officer.goto(`/operator/users/${carolId}`);
      await officer.getByRole('heading', { level: 1, name: /Carol/ }).waitFor();
      await officer.getByRole('button', { name: 'Add Device' }).click();
      const dlg = officer.locator('dialog[open]');
      await dlg.getByRole('heading', { name: /Add a device for/ }).waitFor();
      await dlg.getByRole('button', { name: 'Show a QR code for their phone' }).click();
      await dlg.getByRole('img', { name: 'QR code of the link for their phone' }).waitFor();
      const href = (await dlg.getByRole('link', { name: 'Wallet link' }).getAttribute('href'))!;
      await shoot(officer, '09-operator-qr');

      // Carol's phone: a wallet of its own, opened from the link.
      const carolsPhone = await newPhone();
      const w = await carolsPhone.newPage();
      watch(w, 'carol wallet');
      await w.goto(href);
      await w.getByText("Connected. The server sees this phone as “Carol Chen (demo)'s phone”.").waitFor();
      const serial = (await w.getByTestId('wallet-serial').textContent())!;

      // The dialog sees the phone (it refreshes by itself while waiting) and chooses it.
      await dlg.getByText("Carol Chen (demo)'s phone is connected.").waitFor();
      const radio = dlg.getByRole('radio', { name: /Carol Chen \(demo\)'s phone/ });
      await expect.poll(() => radio.isChecked(), POLL).toBe(true);
      expect(await dlg.textContent()).toContain('Mobile smart card');
      await dlg.getByLabel('Device Policy').selectOption({ label: 'PIV ECC P-256 (demo)' });
      await dlg.getByLabel('PIN', { exact: true }).fill('582936');
      await dlg.getByLabel('Confirm PIN').fill('582936');
      await expectLabelledControls(officer);
      await officer.getByRole('button', { name: 'Continue' }).click();
      await w.getByText(/Personalizing…/).waitFor();
      await officer
        .locator('dialog[open]')
        .filter({ has: officer.getByRole('heading', { name: 'Device issued' }) })
        .waitFor({ timeout: 120_000 });
      await w.getByText('This phone is your smart card now.').waitFor();
      await shoot(w, '10-carol-wallet-done');

      const device = (
        await admin.json<{ items: { serial: string; type: string; state: string }[] }>(
          'GET',
          `/api/users/${carolId}/devices`,
        )
      ).body.items.find((d) => d.serial === serial);
      expect(device).toMatchObject({ type: 'mobile', state: 'active' });
      await carolsPhone.close();
      await officerDesk.close();
      expect(pageErrors).toEqual([]);
    });
  },
);
