// Issuing a device from the operator portal, in Chromium against a real server whose card readers
// are in-process virtual readers holding emulated PIV cards: Add Device (connected cards, refresh,
// Action Type, Device Policy, PIN with its rules and live feedback), the progress bar, the device
// and its certificates on the User page; a card pulled out mid-issuance → failure dialog → Retry;
// another → Cancel → Recycle from the inventory; "not displayed" PIN with a new PIN set at the end,
// and without it Get Initial PIN (shown once); the Agents page.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { OBJECT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { managementKeyFor } from '../../src/services/card-keys.js';
import { MemoryCardAccess } from '../support/memory-card-access.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  POLL,
  screenshot,
  signInOperator,
} from './browser.js';

/** INS of GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 §3.3.2). */
const INS_GENERATE = 0x47;

/**
 * Virtual readers where a test can arm a reader: its card is pulled out the moment the server
 * sends it GENERATE ASYMMETRIC KEY PAIR, i.e. during the "Generate the key pair" step.
 */
class PullableCardAccess extends MemoryCardAccess {
  readonly armed = new Set<string>();
  readonly pulled = new Map<string, VirtualPivCard>();

  override async connect(owner: string, agentId: string, reader: string) {
    const conn = await super.connect(owner, agentId, reader);
    return {
      ...conn,
      reader: conn.reader,
      transmit: (apdu: Uint8Array, opts?: Parameters<typeof conn.transmit>[1]) => {
        if (this.armed.has(reader) && apdu[1] === INS_GENERATE) {
          this.armed.delete(reader);
          const card = this.readers.remove(reader);
          if (card) this.pulled.set(reader, card);
        }
        return conn.transmit(apdu, opts);
      },
    };
  }

  putBack(reader: string): void {
    const card = this.pulled.get(reader);
    if (!card) throw new Error(`no card was pulled from ${reader}`);
    this.pulled.delete(reader);
    this.readers.insert(reader, card);
  }
}

type Settings = Record<string, unknown>;

describe.skipIf(!hasChromium)(
  'device issuance in the operator portal (Chromium)',
  { timeout: 240_000 },
  () => {
    let srv: TestServer;
    let cards: PullableCardAccess;
    let api: ApiClient;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let shots: string;
    let aliceId: string;
    const pageErrors: string[] = [];

    const shoot = (name: string) => screenshot(page, shots, name);
    const dialog = () => page.locator('dialog[open]');
    const dialogTitled = (name: string | RegExp) =>
      page.locator('dialog[open]').filter({ has: page.getByRole('heading', { name }) });
    const setSettings = async (patch: Settings) => {
      const s = (await api.json<Settings>('GET', '/api/settings')).body;
      const r = await api.json('PUT', '/api/settings', { ...s, ...patch });
      expect(r.status).toBe(200);
    };
    const openAlice = async () => {
      await page.goto(`/operator/users/${aliceId}`);
      await page.getByRole('heading', { level: 1, name: /Alice/ }).waitFor();
    };
    const deviceRow = (serial: string) =>
      page.getByRole('table', { name: 'Devices of this user' }).getByRole('row').filter({ hasText: serial });
    /** Opens Add Device, picks the card in `reader` and the ECC demo policy. */
    const startAddDevice = async (reader: string) => {
      await page.getByRole('button', { name: 'Add Device' }).click();
      await dialogTitled(/Add a device for/).waitFor();
      await dialog()
        .getByRole('radio', { name: new RegExp(reader) })
        .check();
      await dialog().getByLabel('Device Policy').selectOption({ label: 'PIV ECC P-256 (demo)' });
    };
    const waitIssued = async () => {
      await dialogTitled('Device issued').waitFor({ timeout: 120_000 });
      expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    };

    beforeAll(async () => {
      await ensureWebBuilt();
      cards = new PullableCardAccess(15);
      cards.addCard('Reader A', 40_000_001);
      cards.addCard('Reader B', 40_000_002);
      cards.addCard('Reader C', 40_000_003);
      srv = await startTestServer({ demo: true, cardAccess: cards });
      api = new ApiClient(srv.url);
      await api.login(srv.admin.username, srv.admin.password);
      aliceId = (await api.json<{ items: { id: string }[] }>('GET', '/api/users?q=alice')).body.items[0]!.id;
      ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors, {
        width: 1280,
        height: 900,
      }));
      await signInOperator(page, srv.admin.username, srv.admin.password);
    }, 300_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await srv?.close();
    });

    it('issues a card with the PIN displayed: cards, refresh, PIN rules, progress, device and certificates', async () => {
      await setSettings({ initialPinDisplayMode: 'displayed', changePinDuringIssuance: false });
      await openAlice();
      await page.getByRole('button', { name: 'Add Device' }).click();
      const dlg = dialogTitled(/Add a device for/);
      await dlg.waitFor();
      for (const serial of ['40000001', '40000002', '40000003'])
        await expect.poll(() => dlg.textContent(), POLL).toContain(serial);
      expect(await dlg.textContent()).toContain('Blank');

      // A card plugged in after the dialog opened appears on refresh.
      expect(await dlg.textContent()).not.toContain('40000004');
      cards.addCard('Reader D', 40_000_004);
      await dlg.getByRole('button', { name: 'Refresh connected devices' }).click();
      await expect.poll(() => dlg.textContent(), POLL).toContain('40000004');

      // Issue Device is the default Action Type; Bind Device is offered.
      const action = dlg.getByLabel('Action Type');
      expect(await action.inputValue()).toBe('issue');
      expect(await action.locator('option').allTextContents()).toEqual(['Issue Device', 'Bind Device']);

      await dlg.getByRole('radio', { name: /Reader A/ }).check();
      const policy = dlg.getByLabel('Device Policy');
      const names = await policy.locator('option').allTextContents();
      expect(names).toEqual(expect.arrayContaining(['PIV RSA-2048 (demo)', 'PIV ECC P-256 (demo)']));
      await policy.selectOption({ label: 'PIV ECC P-256 (demo)' });

      // The info button lists the policy's PIN rules.
      await dlg.getByRole('button', { name: 'PIN rules' }).click();
      const rules = await dlg.getByRole('list', { name: 'PIN rules' }).textContent();
      expect(rules).toContain('6 to 8 digits');
      expect(rules).toContain('sequence');

      // Displayed mode: one PIN field, in clear; the unmet rules are listed as it is typed.
      const pin = dlg.getByLabel('PIN', { exact: true });
      expect(await pin.getAttribute('type')).toBe('text');
      expect(await dlg.getByLabel('Confirm PIN').count()).toBe(0);
      const continueBtn = page.getByRole('button', { name: 'Continue' });
      await pin.fill('123');
      const unmet = dlg.getByRole('list', { name: 'Unmet PIN rules' });
      await expect.poll(() => unmet.textContent(), POLL).toContain('At least 6 digits');
      expect(await unmet.textContent()).toContain('No three characters in sequence');
      expect(await continueBtn.isDisabled()).toBe(true);
      await pin.fill('739184');
      await expect.poll(() => dlg.textContent(), POLL).toContain('The PIN meets every rule.');
      expect(await unmet.count()).toBe(0);
      await expectLabelledControls(page);
      await shoot('01-add-device');

      // Record every value the progress bar takes.
      await page.evaluate(() => {
        const w = window as unknown as { progressSeen: string[] };
        w.progressSeen = [];
        new MutationObserver(() => {
          const v = document.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow');
          if (v && w.progressSeen[w.progressSeen.length - 1] !== v) w.progressSeen.push(v);
        }).observe(document.body, { subtree: true, childList: true, attributes: true });
      });
      await continueBtn.click();
      const bar = page.getByRole('progressbar', { name: 'Issuance progress' });
      await bar.waitFor();
      await expect
        .poll(async () => Number(await bar.getAttribute('aria-valuenow')), POLL)
        .toBeGreaterThan(10);
      await shoot('02-progress');
      await waitIssued();
      const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
      expect(seen.length).toBeGreaterThan(3);
      expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => a - b));
      expect(seen[seen.length - 1]).toBe('100');
      await dialog().getByRole('button', { name: 'Done' }).click();

      // The User page shows the new device and its certificates.
      const row = deviceRow('40000001');
      await expect.poll(() => row.textContent(), POLL).toContain('Active');
      expect(await row.textContent()).toContain('PIV ECC P-256 (demo)');
      const certs = page.getByRole('table', { name: 'Certificates of this user' });
      await expect.poll(() => certs.getByRole('row').count(), POLL).toBeGreaterThan(1);
      const certText = (await certs.textContent()) ?? '';
      expect(certText).toContain('9A');
      expect(certText).toMatch(/Valid/);
      expect(certText).toContain('Alice');
      // Sorted by slot; serials shortened (whole on hover), so the table fits 1280 px.
      const slots = (await certs.locator('tbody tr td:nth-child(3)').allTextContents()).map((t) => t.trim());
      const pivOrder = ['9A', '9C', '9D', '9E'];
      expect(slots).toEqual([...slots].sort((a, b) => pivOrder.indexOf(a) - pivOrder.indexOf(b)));
      const serial = certs.locator('tbody tr').first().getByRole('link');
      expect(await serial.textContent()).toMatch(/^[0-9a-f]{2}:[0-9a-f]{2}…[0-9a-f]{2}:[0-9a-f]{2}$/);
      expect(await serial.getAttribute('title')).toMatch(/^([0-9a-f]{2}:){8,}[0-9a-f]{2}$/);
      expect(await certs.locator('xpath=..').evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      await shoot('03-issued');

      // The Devices list names the person a device is assigned to, linking to their page.
      await page.goto('/operator/devices');
      const listed = page
        .getByRole('table', { name: 'Devices' })
        .getByRole('row')
        .filter({ hasText: '40000001' });
      await listed.getByRole('link', { name: /Alice .*\(alice\)/ }).click();
      await page.getByRole('heading', { level: 1, name: /Alice/ }).waitFor();
    });

    it('PIV check: the issued card conforms; a byte changed on the card fails "Check the card again"', async () => {
      await deviceRow('40000001').getByRole('link', { name: 'PIV check' }).click();
      await page.getByRole('heading', { level: 1, name: /PIV check of .*40000001/ }).waitFor();
      await page.getByText('Conforms', { exact: true }).waitFor();
      const chuidRow = page.locator('tr[data-item="chuid"]');
      expect(await chuidRow.textContent()).toMatch(/yes, signature holds/);
      await shoot('03b-piv-check');

      // Someone holding the management key rewrites one byte of the CHUID.
      const s = await PivSession.open(await cards.readers.connect('Reader A'));
      const mk = managementKeyFor(srv.rt.masterKey, '40000001', s.version);
      await s.authenticate(mk.key, mk.algorithm);
      const value = Buffer.from((await s.getObject(OBJECT.CHUID))!);
      value[3]! ^= 0x01;
      await s.putObject(OBJECT.CHUID, value);

      await page.getByRole('button', { name: 'Check the card again' }).click();
      await dialogTitled('Check card 40000001').waitFor();
      await expect
        .poll(() => dialog().getByLabel('Reader holding the card').inputValue(), POLL)
        .toContain('Reader A');
      await dialog().getByRole('button', { name: 'Check', exact: true }).click();
      await page.getByText('Does not conform', { exact: true }).waitFor();
      expect(await chuidRow.textContent()).toMatch(/changed after signing/);
      expect(await page.locator('tr[data-item="security"]').textContent()).toMatch(/does not match its hash/);
      await openAlice();
    });

    it('disguised PIN; a card pulled out mid-way fails with code and correlation id; Retry succeeds', async () => {
      await setSettings({ initialPinDisplayMode: 'disguised' });
      await openAlice();
      await startAddDevice('Reader B');
      const dlg = dialogTitled(/Add a device for/);
      const pin = dlg.getByLabel('PIN', { exact: true });
      expect(await pin.getAttribute('type')).toBe('password');
      const confirm = dlg.getByLabel('Confirm PIN');
      expect(await confirm.getAttribute('type')).toBe('password');
      await pin.fill('582936');
      await confirm.fill('582937');
      await expect.poll(() => dlg.textContent(), POLL).toContain('The two PINs are different.');
      expect(await page.getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);
      await confirm.fill('582936');
      await expect.poll(() => dlg.textContent(), POLL).not.toContain('The two PINs are different.');

      cards.armed.add('Reader B');
      await page.getByRole('button', { name: 'Continue' }).click();
      const failed = dialogTitled('The issuance failed');
      await failed.waitFor({ timeout: 120_000 });
      const text = (await failed.textContent()) ?? '';
      expect(text).toMatch(/Issuance failed at “Generate/);
      expect(text).toMatch(/Code\s*\S+/);
      expect(text).toMatch(/Correlation ID\s*\S+/);
      expect(text).toContain('Do not remove the device from the reader');
      expect(text).toContain('different policy or a different PIN');
      expect(await failed.getByRole('button', { name: 'Copy error details' }).count()).toBe(1);
      await failed.getByRole('button', { name: 'Copy error details' }).click();
      await expect.poll(() => failed.textContent(), POLL).toMatch(/Copied|Could not copy/);
      await shoot('04-failure');

      cards.putBack('Reader B');
      await failed.getByRole('button', { name: 'Retry' }).click();
      await waitIssued();
      expect(await dialog().textContent()).toContain('attempt 2');
      await dialog().getByRole('button', { name: 'Done' }).click();
      await expect.poll(() => deviceRow('40000002').textContent(), POLL).toContain('Active');
    });

    it('another failure → Cancel: the device leaves the user and is recycled from the inventory', async () => {
      await openAlice();
      await startAddDevice('Reader C');
      const dlg = dialogTitled(/Add a device for/);
      await dlg.getByLabel('PIN', { exact: true }).fill('582936');
      await dlg.getByLabel('Confirm PIN').fill('582936');
      cards.armed.add('Reader C');
      await page.getByRole('button', { name: 'Continue' }).click();
      const failed = dialogTitled('The issuance failed');
      await failed.waitFor({ timeout: 120_000 });
      // Closing the dialog loses nothing: the failed device offers Retry or Cancel on the User page.
      await failed.getByRole('button', { name: 'Close', exact: true }).click();
      const row = deviceRow('40000003');
      await expect.poll(() => row.textContent(), POLL).toContain('Failed');
      await row.getByRole('button', { name: 'Retry or cancel…' }).click();
      await dialogTitled('The issuance failed').getByRole('button', { name: 'Cancel issuance' }).click();
      await expect.poll(() => dialog().count(), POLL).toBe(0);
      await expect.poll(() => deviceRow('40000003').count(), POLL).toBe(0);

      cards.putBack('Reader C');
      await page.goto('/operator/devices?q=40000003');
      const inv = page.getByRole('row').filter({ hasText: '40000003' });
      await expect.poll(() => inv.textContent(), POLL).toContain('Awaiting recycle');
      await inv.getByRole('button', { name: 'Recycle' }).click();
      const rec = dialogTitled(/Recycle device 40000003/);
      const select = rec.getByLabel('Reader holding the card');
      await expect
        .poll(async () => (await select.locator('option:checked').textContent()) ?? '', POLL)
        .toContain('(this device)');
      await rec.getByRole('button', { name: 'Recycle', exact: true }).click();
      await expect.poll(() => page.getByText(/was wiped and is back in the inventory/).count(), POLL).toBe(1);
      await expect.poll(() => inv.textContent(), POLL).toContain('Inventory');
    });

    it('PIN not displayed with change PIN during issuance: the new PIN is asked at the end', async () => {
      await setSettings({ initialPinDisplayMode: 'not_displayed', changePinDuringIssuance: true });
      await openAlice();
      await startAddDevice('Reader D');
      const dlg = dialogTitled(/Add a device for/);
      expect(await dlg.getByLabel('PIN', { exact: true }).count()).toBe(0);
      expect(await dlg.textContent()).toContain('you will be asked to set a new PIN');
      await page.getByRole('button', { name: 'Continue' }).click();
      const ask = dialogTitled('Set the new PIN');
      await ask.waitFor({ timeout: 120_000 });
      await ask.getByLabel('New PIN', { exact: true }).fill('12');
      await expect.poll(() => ask.textContent(), POLL).toContain('At least 6 digits');
      await ask.getByLabel('New PIN', { exact: true }).fill('941627');
      await ask.getByLabel('Confirm New PIN').fill('941627');
      await ask.getByRole('button', { name: 'Set the PIN' }).click();
      await waitIssued();
      await dialog().getByRole('button', { name: 'Done' }).click();
      const row = deviceRow('40000004');
      await expect.poll(() => row.textContent(), POLL).toContain('Active');
      expect(await row.getByRole('button', { name: 'Get Initial PIN' }).count()).toBe(0);
    });

    it('PIN not displayed without a change: Get Initial PIN shows it once', async () => {
      await setSettings({ initialPinDisplayMode: 'not_displayed', changePinDuringIssuance: false });
      await openAlice();
      await startAddDevice('Reader C');
      expect(await dialog().textContent()).toContain('Get Initial PIN');
      await page.getByRole('button', { name: 'Continue' }).click();
      await waitIssued();
      await dialog().getByRole('button', { name: 'Done' }).click();
      const row = deviceRow('40000003');
      await expect.poll(() => row.textContent(), POLL).toContain('Active');
      await row.getByRole('button', { name: 'Get Initial PIN' }).click();
      const dlg = dialogTitled(/Initial PIN of device 40000003/);
      expect(await dlg.textContent()).toContain('The initial PIN is shown once.');
      await dlg.getByRole('button', { name: 'Show the initial PIN' }).click();
      const value = dlg.getByLabel('Initial PIN');
      await expect.poll(async () => (await value.textContent()) ?? '', POLL).toMatch(/^\d{6,8}$/);
      await dlg.getByRole('button', { name: /I have noted it/ }).click();
      await expect.poll(() => row.getByRole('button', { name: 'Get Initial PIN' }).count(), POLL).toBe(0);
    });

    it('Agents page: a one-time pairing code with its expiry and the command to run', async () => {
      await page.goto('/operator/agents');
      await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
      await page.getByRole('button', { name: 'Pair an agent' }).click();
      const main = page.locator('main');
      await expect
        .poll(() => main.textContent(), POLL)
        .toMatch(/tessera agent --server http:\/\/127\.0\.0\.1:\d+ --pair \S+/);
      const code = (await page.getByLabel('One-time pairing code').textContent())?.trim() ?? '';
      expect(code.length).toBeGreaterThan(3);
      expect(await main.textContent()).toContain(`--pair ${code}`);
      expect(await main.textContent()).toContain('Valid once, until');
      expect(await page.getByRole('button', { name: 'Copy command' }).count()).toBe(1);
      await shoot('05-agents');
      expect(pageErrors).toEqual([]);
    });

    it('keyboard only: Add Device → issue → close gives focus back to Add Device; so does Issue initial password', async () => {
      await setSettings({ initialPinDisplayMode: 'not_displayed', changePinDuringIssuance: false });
      cards.addCard('Reader K', 40_000_011);
      await openAlice();
      const focused = () =>
        page.evaluate(() => {
          const el = document.activeElement;
          return el ? `${el.tagName.toLowerCase()} ${(el.textContent ?? '').trim()}` : 'none';
        });
      /** Tab (within the page, or the open dialog's trap) until `text` has the focus. */
      const tabTo = async (text: string) => {
        // Room for the whole page: from Add Device, Tab goes round every link of the navigation
        // (which grows as sections are added) before it reaches the header's buttons again.
        for (let i = 0; i < 150; i++) {
          if ((await focused()) === `button ${text}`) return;
          await page.keyboard.press('Tab');
        }
        throw new Error(`Tab never reached "${text}" (focus on ${await focused()})`);
      };

      await tabTo('Add Device');
      await page.keyboard.press('Enter');
      const add = dialogTitled(/Add a device for/);
      await add.waitFor();
      await expect.poll(() => add.textContent(), POLL).toContain('40000011');
      // The card radios: ids from list positions (no NUL or space from the agent and reader names).
      const ids = await add.getByRole('radio').evaluateAll((els) => els.map((e) => e.id));
      for (const id of ids) expect(id).toMatch(/^[\w:«»-]+-card-\d+$/);
      // Into the radio group, then the arrow keys to Reader K's card.
      await tabTo('Refresh connected devices');
      await page.keyboard.press('Tab');
      for (let i = 0; i < ids.length; i++) {
        const label = await page.evaluate(() => {
          const el = document.activeElement as HTMLInputElement | null;
          return el?.type === 'radio'
            ? (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? '')
            : '';
        });
        if (label.includes('Reader K')) break;
        await page.keyboard.press('ArrowDown');
      }
      expect(await add.getByRole('radio', { name: /Reader K/ }).isChecked()).toBe(true);
      await tabTo('Continue');
      await page.keyboard.press('Enter');

      await dialogTitled('Device issued').waitFor({ timeout: 120_000 });
      await tabTo('Done');
      await page.keyboard.press('Enter');
      await expect.poll(() => dialog().count(), POLL).toBe(0);
      expect(await focused()).toBe('button Add Device');

      // Issue initial password: opened and closed (Escape) from the keyboard.
      await tabTo('Issue initial password');
      await page.keyboard.press('Enter');
      await dialogTitled(/initial password/i).waitFor();
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog().count(), POLL).toBe(0);
      expect(await focused()).toBe('button Issue initial password');
      expect(pageErrors).toEqual([]);
    });
  },
);
