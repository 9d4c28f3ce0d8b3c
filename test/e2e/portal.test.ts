// The user portal's self-issuance in Chromium, end to end with real parts: a person imported from
// a real OpenLDAP slapd signs in with their directory password, sets their security answers, pairs
// their own agent from the portal (a real AgentClient over WebSocket, emulated readers), sees the
// card the help desk bound to them, watches the progress bar, chooses a PIN with live feedback and
// finishes; the card then holds their certificates under that PIN. Also: a card not bound to them is
// refused; "I don't have my smart card" with answers typed in another case and spacing; a failed
// personalization offers Retry only when the operator portal allows it.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { pairWithCode } from '../../src/agent/identity.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import {
  directoryConfig,
  ROOT_PW,
  SUFFIX,
  personLdif,
  slapdAvailable,
  startSlapd,
  type Slapd,
} from '../support/slapd.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectDisabledButtonsExplained,
  expectLabelledControls,
  hasChromium,
  newBrowserPage,
  openBrowserPage,
  POLL,
  screenshot,
  signInOperator,
} from './browser.js';

/** INS of GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 §3.3.2). */
const INS_GENERATE = 0x47;

/** An emulated card that can be armed to leave its reader when key generation starts. */
class PullableCard extends VirtualPivCard {
  onGenerate: (() => void) | undefined;
  override transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (apdu[1] === INS_GENERATE && this.onGenerate) {
      const pull = this.onGenerate;
      this.onGenerate = undefined;
      pull();
    }
    return super.transmit(apdu);
  }
}

const card = (serial: number) => new PullableCard(newCardState({ serial }));
const LENA_PASSWORD = 'Lena-Pass-7';
const PET = 'What was the name of your first pet?';
const TOWN = 'In which town or city were you born?';
const PIN = '135790';

describe.skipIf(!hasChromium || !slapdAvailable)(
  'self-issuance in the user portal (Chromium, slapd, agent)',
  { timeout: 300_000 },
  () => {
    let slapd: Slapd;
    let srv: TestServer;
    let admin: ApiClient;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let shots: string;
    let lenaId: string;
    let policyId: string;
    let adminAgentId: string;
    const deskReaders = new MemoryReaderSet();
    const lenaReaders = new MemoryReaderSet();
    const agents: AgentClient[] = [];
    const pageErrors: string[] = [];

    const shoot = (name: string) => screenshot(page, shots, name);
    const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
    const button = (name: string) => page.getByRole('button', { name, exact: true });
    const setSettings = async (patch: Record<string, unknown>) => {
      const s = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
      expect((await admin.json('PUT', '/api/settings', { ...s, ...patch })).status).toBe(200);
    };
    /** The help desk binds a blank card to Lena at their desk, then hands it over. */
    const bindToLena = async (c: VirtualPivCard) => {
      deskReaders.insert('Desk reader', c);
      const r = await admin.json('POST', '/api/issuance', {
        userId: lenaId,
        agentId: adminAgentId,
        reader: 'Desk reader',
        action: 'bind',
        policyId,
      });
      expect(r.status).toBe(202);
      deskReaders.remove('Desk reader');
    };
    const runAgent = (token: string, readers: MemoryReaderSet) => {
      const client = new AgentClient({ server: srv.url, token, readers, hostname: 'e2e' });
      agents.push(client);
      client.start();
      return client.waitConnected(30_000);
    };
    const signInWithDirectoryPassword = async () => {
      await page.goto('/portal');
      await heading('Welcome').waitFor();
      await button('Start').click();
      await heading('Sign in').waitFor();
      await page.getByLabel('Username').fill('lena.ldap');
      await button('Continue').click();
      await page.getByLabel('Directory password').fill(LENA_PASSWORD);
      await button('Continue').click();
    };
    const deviceState = async (serial: string) =>
      (await admin.json<{ items: { serial: string; state: string }[] }>('GET', `/api/devices?q=${serial}`))
        .body.items[0]?.state;

    beforeAll(async () => {
      await ensureWebBuilt();
      slapd = await startSlapd();
      slapd.add(
        `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n` +
          `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n` +
          personLdif({ uid: 'lena.ldap', cn: 'Lena Ldap', employeeNumber: 'E7', password: LENA_PASSWORD }),
      );
      srv = await startTestServer({ demo: true });
      admin = new ApiClient(srv.url);
      await admin.login(srv.admin.username, srv.admin.password);
      const dir = await admin.json('PUT', '/api/directory', {
        ...directoryConfig(slapd.url),
        bindPassword: ROOT_PW,
      });
      expect(dir.status).toBe(200);
      expect((await admin.json('POST', '/api/directory/sync')).status).toBe(200);
      lenaId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=lena.ldap')).body.items[0]!
        .id;
      policyId = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
      ).body.items.find((p) => p.name.includes('ECC'))!.id;
      await setSettings({
        portalAuthMethods: ['initial_password', 'directory_password', 'security_questions'],
        securityQuestionCount: 2,
        issuanceRetryForUser: true,
      });
      // The help desk's own agent and reader, where cards are bound before they are handed over.
      const code = await admin.json<{ code: string }>('POST', '/api/agents/pairing-codes', {});
      const desk = await pairWithCode(srv.url, code.body.code, { name: 'Help desk', hostname: 'desk' });
      adminAgentId = desk.agentId;
      deskReaders.addReader('Desk reader');
      await runAgent(desk.token, deskReaders);

      ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors, {
        width: 1100,
        height: 900,
      }));
    }, 300_000);

    afterAll(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await context?.close();
      await browser?.close();
      await srv?.close();
      await slapd?.stop();
    });

    it('a directory user pairs their agent, self-issues the card bound to them, and sets their PIN', async () => {
      await bindToLena(card(60_000_001));

      await page.goto('/portal');
      await heading('Welcome').waitFor();
      await shoot('01-welcome');
      expect(await button('Start').count()).toBe(1);
      await button('Start').click();
      await heading('Sign in').waitFor();
      // Continue is never disabled for want of a name: sent with spaces only, the page says what is missing.
      await page.getByLabel('Username').fill('   ');
      await button('Continue').click();
      await page.getByText('Type your username.').waitFor();
      await page.getByLabel('Username').fill('lena.ldap');
      await button('Continue').click();
      // The directory is on, so its password is asked first; the other offered ways are a click away.
      await page.getByRole('button', { name: 'Use the initial password I received instead' }).waitFor();
      await page.getByLabel('Directory password').fill('not-her-password');
      await expectLabelledControls(page);
      await shoot('02-directory-password');
      await button('Continue').click();
      await page.getByText('Those sign-in details are not right').waitFor();
      await page.getByLabel('Directory password').fill(LENA_PASSWORD);
      await button('Continue').click();

      // First sign-in: she chooses and answers two security questions, told to record them.
      await heading('Set your security questions').waitFor();
      await page.getByText('Record your answers and keep them in a safe place').waitFor();
      await page.getByLabel('Question 1').selectOption({ label: PET });
      await page.getByLabel('Question 2').selectOption({ label: TOWN });
      // Each answer says which question it is for (its accessible description follows the choice).
      const describedBy = await page
        .getByLabel('Answer 1')
        .evaluate((el) => document.getElementById(el.getAttribute('aria-describedby') ?? '')?.textContent);
      expect(describedBy).toBe(PET);
      await page.getByLabel('Answer 1').fill('Toto');
      await page.getByLabel('Answer 2').fill('Saint Malo');
      await expectLabelledControls(page);
      await shoot('03-security-questions');
      await button('Continue').click();

      // No agent yet: the portal explains it and gives a pairing code and the command to run.
      await heading('Insert your smart card').waitFor();
      await page.getByRole('heading', { name: 'Connect this computer’s card reader' }).waitFor();
      // Not a demo server: pairing is what she needs now, in plain sight; the rest is folded away.
      expect(await page.getByText('It only passes messages between Tessera').isVisible()).toBe(false);
      expect(await button('Issue to my phone').isVisible()).toBe(false);
      expect(await expectDisabledButtonsExplained(page)).toEqual([
        {
          name: 'Set up my card',
          why: 'Waiting for this computer’s card reader: connect it as shown above.',
        },
      ]);
      await button('Get a pairing code').click();
      const command = (await page.getByLabel('Agent command').textContent())!;
      const code = /--pair (\S+)$/.exec(command)![1]!;
      expect(command).toBe(`tessera agent --server ${srv.url} --pair ${code}`);
      await shoot('04-pair-agent');
      // On a phone the command wraps instead of widening the page.
      await page.setViewportSize({ width: 390, height: 844 });
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await shoot('04-pair-agent-phone');
      await page.setViewportSize({ width: 1100, height: 900 });
      const laptop = await pairWithCode(srv.url, code, { name: 'Lena laptop', hostname: 'lena-laptop' });
      lenaReaders.addReader('Lena reader');
      lenaReaders.addReader('Spare reader');
      await runAgent(laptop.token, lenaReaders);

      // The readers appear by themselves; then the cards as they are inserted.
      const readers = page.getByRole('list', { name: 'Card readers' });
      await expect.poll(() => readers.textContent(), POLL).toContain('No card in this reader.');
      // One Start (on Welcome): here the button says what it does, and while it cannot, why not.
      expect(await button('Start').count()).toBe(0);
      expect(await button('Set up my card').isDisabled()).toBe(true);
      await page.getByText('Waiting for your card: insert it into a reader.').waitFor();
      expect(await expectDisabledButtonsExplained(page)).toEqual([
        { name: 'Set up my card', why: 'Waiting for your card: insert it into a reader.' },
      ]);
      lenaReaders.insert('Spare reader', card(60_000_099));
      await expect
        .poll(() => readers.textContent(), POLL)
        .toContain('Card 60000099 is not bound to you, so it cannot be set up here');
      expect(await button('Set up my card').isDisabled()).toBe(true);
      await page.getByText('None of the cards in the readers can be set up for you').waitFor();
      await expectDisabledButtonsExplained(page);
      const lenasCard = card(60_000_001);
      lenaReaders.insert('Lena reader', lenasCard);
      await expect
        .poll(() => readers.textContent(), POLL)
        .toContain('Your card 60000001 — ready to be set up.');
      await shoot('05-card-ready');
      await button('Set up my card').click();

      // Personalization with a progress bar, then her own PIN, checked as she types.
      await heading('Set up your smart card').waitFor();
      const bar = page.getByRole('progressbar', { name: 'Issuance progress' });
      await bar.waitFor();
      await shoot('06-progress');
      await page.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      // A reload (or a closed tab) loses nothing: she is still signed in and Start takes her back.
      await page.reload();
      await page.getByText('Signed in as Lena Ldap.').waitFor();
      await button('Start').click();
      await page.getByRole('heading', { name: 'Choose your PIN' }).waitFor();
      await page.getByLabel('New PIN', { exact: true }).fill('111111');
      await page.getByRole('list', { name: 'Unmet PIN rules' }).waitFor();
      expect(await button('Continue').isDisabled()).toBe(true);
      await expectDisabledButtonsExplained(page);
      await page.getByLabel('New PIN', { exact: true }).fill(PIN);
      await page.getByText('The PIN meets every rule.').waitFor();
      await page.getByLabel('Confirm New PIN').fill('135791');
      await page.getByText('The two PINs are different.').waitFor();
      expect(await button('Continue').isDisabled()).toBe(true);
      await page.getByLabel('Confirm New PIN').fill(PIN);
      await expectLabelledControls(page);
      await shoot('07-new-pin');
      await button('Continue').click();
      await heading('Set up your smart card').waitFor();
      await page.getByRole('heading', { name: 'Your card is ready' }).waitFor();
      await page.getByText('Your smart card 60000001 is set up').waitFor();
      await shoot('08-ready');
      await button('Done').click();
      await page.getByText('You are signed out').waitFor();

      // The card is active, holds her certificates, and answers to the PIN she chose.
      expect(await deviceState('60000001')).toBe('active');
      const s = await PivSession.open(await lenaReaders.connect('Lena reader'));
      await s.verifyPin(PIN);
      expect(await s.getCertificate(0x9a)).toBeDefined();
      const certs = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?userId=${lenaId}`,
      );
      expect(certs.body.items.length).toBeGreaterThan(0);
      expect(certs.body.items.every((c) => c.status === 'valid')).toBe(true);
      expect(pageErrors).toEqual([]);
    });

    it('without the card: answers in any case and spacing sign her in, and she sees her devices', async () => {
      await page.goto('/portal');
      await button("I don't have my smart card").click();
      await heading('Sign in').waitFor();
      await page.getByLabel('Username').fill('lena.ldap');
      await button('Continue').click();
      // Without a card, security questions come first; her directory password is the other way.
      await page.getByRole('button', { name: 'Use my directory password instead' }).waitFor();
      await page.getByLabel(PET).fill('T O T O');
      await page.getByLabel(TOWN).fill('saintmalo');
      await shoot('09-no-card-questions');
      await button('Continue').click();
      await heading('Without your smart card').waitFor();
      const devices = page.getByRole('table', { name: 'Your devices' });
      await devices.getByRole('row').filter({ hasText: '60000001' }).filter({ hasText: 'In use' }).waitFor();
      await shoot('10-my-devices');
      await button('Done').click();
      await page.getByText('You are signed out').waitFor();
    });

    it('a session that ends mid-way brings her back to sign-in, saying so', async () => {
      await signInWithDirectoryPassword();
      await heading('Insert your smart card').waitFor();
      // The session cookie is gone (as when it expires): the next look at the readers is refused.
      await context.clearCookies();
      await heading('Sign in').waitFor();
      await page.getByText('Your session ended. Sign in again').waitFor();
      await page.getByLabel('Username').waitFor();
      expect(pageErrors).toEqual([]);
    });

    it('a failed personalization offers Retry only when the operator portal allows it', async () => {
      lenaReaders.remove('Lena reader');
      lenaReaders.remove('Spare reader');

      // Allowed: the card leaves the reader during key generation; Retry finishes the job.
      const second = card(60_000_002);
      await bindToLena(second);
      second.onGenerate = () => lenaReaders.remove('Lena reader');
      lenaReaders.insert('Lena reader', second);
      await signInWithDirectoryPassword();
      await heading('Insert your smart card').waitFor();
      await expect
        .poll(() => page.getByRole('list', { name: 'Card readers' }).textContent(), POLL)
        .toContain('Your card 60000002 — ready to be set up.');
      await button('Set up my card').click();
      await page.getByRole('heading', { name: 'Your card was not set up' }).waitFor({ timeout: 120_000 });
      await button('Done').waitFor();
      // Plain words for the cardholder; the code and the technical message only under details.
      await page
        .getByText(/Your card was taken out|connection to your card was lost|Your card stopped answering/)
        .waitFor();
      const visible = await page.locator('main').innerText();
      expect(visible).not.toMatch(/card_[a-z]+|agent disconnected|Correlation ID/);
      await page.getByText('Details for your help desk').click();
      expect(await page.locator('details.help-desk-details').innerText()).toMatch(/Code\s+card_/);
      await shoot('11-failed-retry');
      lenaReaders.insert('Lena reader', second);
      await button('Retry').click();
      await page.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      await page.getByLabel('New PIN', { exact: true }).fill(PIN);
      await page.getByLabel('Confirm New PIN').fill(PIN);
      await button('Continue').click();
      await page.getByRole('heading', { name: 'Your card is ready' }).waitFor();
      await button('Done').click();
      expect(await deviceState('60000002')).toBe('active');

      // Not allowed: the same failure shows the warning with Done only.
      await setSettings({ issuanceRetryForUser: false });
      lenaReaders.remove('Lena reader');
      const third = card(60_000_003);
      await bindToLena(third);
      third.onGenerate = () => lenaReaders.remove('Lena reader');
      lenaReaders.insert('Lena reader', third);
      await signInWithDirectoryPassword();
      await expect
        .poll(() => page.getByRole('list', { name: 'Card readers' }).textContent(), POLL)
        .toContain('Your card 60000003 — ready to be set up.');
      await button('Set up my card').click();
      await page.getByRole('heading', { name: 'Your card was not set up' }).waitFor({ timeout: 120_000 });
      await page.getByText('Choose Done and contact your help desk').waitFor();
      expect(await button('Retry').count()).toBe(0);
      await shoot('12-failed-no-retry');
      await button('Done').click();
      await page.getByText('You are signed out').waitFor();
      expect(await deviceState('60000003')).toBe('failed');
      expect(pageErrors).toEqual([]);
    });
  },
);

// Issue 6's "Done when", in the browser, on a demo server as README line 1 starts it: an operator
// binds a demo card to bob and gives him an initial password; bob opens /portal, starts, signs in,
// records his security answers, takes his card to a demo reader of his own, watches the progress
// bar, sets a PIN, and the card is active with its certificates.
describe.skipIf(!hasChromium)(
  'self-issuance on the demo server (Chromium, demo agents)',
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let shots: string;
    const pageErrors: string[] = [];
    const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
    const button = (name: string) => page.getByRole('button', { name, exact: true });
    const shoot = (name: string) => screenshot(page, shots, name);

    beforeAll(async () => {
      await ensureWebBuilt();
      srv = await startTestServer({ demo: true, demoAgents: true });
      ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors, {
        width: 1200,
        height: 900,
      }));
    }, 300_000);

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await srv?.close();
    });

    it('operator binds and gives an initial password; the user self-issues in the portal', async () => {
      const admin = new ApiClient(srv.url);
      await admin.login(srv.admin.username, srv.admin.password);
      const bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!
        .id;

      // The operator: Add Device → Bind Device with the card in demo reader 2, then the initial password.
      await signInOperator(page, srv.admin.username, srv.admin.password);
      await page.goto(`/operator/users/${bobId}`);
      await page.getByRole('heading', { level: 1, name: /Bob/ }).waitFor();
      await button('Add Device').click();
      const dlg = page.locator('dialog[open]');
      // Bind first: the demo's card printer is on, and an issue would take the card in its encoder.
      await dlg.getByLabel('Action Type').selectOption('bind');
      await dlg.getByRole('radio', { name: /Tessera Virtual Reader 2/ }).check();
      await dlg.getByLabel('Device Policy').selectOption({ label: 'PIV ECC P-256 (demo)' });
      await dlg.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('Device 10000002 is bound to').waitFor({ timeout: 60_000 });
      await button('Issue initial password').click();
      const ip = page.getByRole('dialog', { name: /Initial password for/ });
      await ip.getByRole('button', { name: 'Issue initial password' }).click();
      const password = (
        (await ip.getByLabel('Initial password', { exact: true }).textContent()) ?? ''
      ).trim();
      expect(password.length).toBeGreaterThan(10);
      await ip.getByRole('button', { name: /close/i }).first().click();
      await button('Sign out').click();
      await heading('Sign in').waitFor();

      // The user, in the portal.
      await page.goto('/portal');
      await button('Start').click();
      await page.getByLabel('Username').fill('bob');
      await button('Continue').click();
      await page.getByLabel('Initial password').fill(password);
      await button('Continue').click();
      await heading('Set your security questions').waitFor();
      // The browser closes here. Opened again, the same initial password resumes the set-up.
      await context.close();
      ({ context, page } = await newBrowserPage(browser, srv.url, pageErrors, { width: 1200, height: 900 }));
      await page.goto('/portal');
      await button('Start').click();
      await page.getByLabel('Username').fill('bob');
      await button('Continue').click();
      await page.getByLabel('Initial password').fill(password);
      await button('Continue').click();
      await heading('Set your security questions').waitFor();
      for (const [i, answer] of ['Rex', 'Lyon', 'Jules Ferry'].entries())
        await page.getByLabel(`Answer ${i + 1}`).fill(answer);
      await button('Continue').click();
      await heading('Insert your smart card').waitFor();
      // A calm page: what bob needs now is the hand-over, named with the reader the help desk used;
      // pairing an agent and the phone wait behind their disclosures.
      const atDesk = page.getByRole('note', { name: 'Your card is at the help desk' });
      await atDesk
        .getByText('Your card 10000002 is still at the help desk, in “Tessera Virtual Reader 2”.')
        .waitFor();
      const visible = async (name: string) => page.getByRole('button', { name, exact: true }).isVisible();
      expect(await visible('Get a pairing code')).toBe(false);
      expect(await visible('Issue to my phone')).toBe(false);
      expect(
        await page.getByRole('heading', { name: 'Connect this computer’s card reader' }).isVisible(),
      ).toBe(false);
      await page.getByText('Use a card reader of this computer instead').waitFor();
      await page.getByText('Or make your phone your smart card').waitFor();
      await expectDisabledButtonsExplained(page);
      await shoot('21-demo-take-card');
      // Either way is one click away.
      await page.getByText('Use a card reader of this computer instead').click();
      expect(await visible('Get a pairing code')).toBe(true);
      await page.getByText('Use a card reader of this computer instead').click();
      await button('Take my card to a demo reader').click();
      // The card shows in a reader named as the one the help desk bound it in, not a "Reader 1".
      await page
        .getByText('Your card 10000002 is now in your demo reader “Tessera Virtual Reader 2”.')
        .waitFor();
      const readers = page.getByRole('list', { name: 'Card readers' });
      await expect
        .poll(() => readers.textContent(), POLL)
        .toContain('Your card 10000002 — ready to be set up.');
      expect(await readers.getByRole('listitem').allInnerTexts()).toEqual([
        expect.stringMatching(/^Tessera Virtual Reader 2\s+Your card 10000002 — ready to be set up\.$/),
      ]);
      expect(await atDesk.count()).toBe(0);
      await shoot('21b-demo-card-handed-over');
      await button('Set up my card').click();
      await page.getByRole('progressbar', { name: 'Issuance progress' }).waitFor();
      await page.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      // The page heading names the task; the sub-heading the stage (not the same words twice).
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Set up your smart card');
      await page.getByLabel('New PIN', { exact: true }).fill(PIN);
      await page.getByLabel('Confirm New PIN').fill(PIN);
      await button('Continue').click();
      await page.getByRole('heading', { name: 'Your card is ready' }).waitFor();
      // Done, the bar is full: its width is its percentage, not trailing behind it.
      const bar = page.locator('.progress__bar');
      if (await bar.count())
        expect(
          await bar.evaluate((el) => el.getBoundingClientRect().width / el.parentElement!.clientWidth),
        ).toBeGreaterThan(0.98);
      await shoot('22-demo-ready');
      await button('Done').click();
      await page.getByText('You are signed out').waitFor();

      // Set-up finished, the initial password is used up, and bob is told so (and what to do).
      await page.goto('/portal');
      await button('Start').click();
      await page.getByLabel('Username').fill('bob');
      await button('Continue').click();
      await page.getByLabel('Initial password').fill(password);
      await button('Continue').click();
      await page.getByText(/This initial password was already used/).waitFor();

      const device = (
        await admin.json<{ items: { serial: string; state: string; userId: string }[] }>(
          'GET',
          '/api/devices?q=10000002',
        )
      ).body.items[0];
      expect(device).toMatchObject({ state: 'active', userId: bobId });
      const certs = await admin.json<{ items: { status: string }[] }>(
        'GET',
        `/api/certificates?userId=${bobId}`,
      );
      expect(certs.body.items.length).toBeGreaterThan(0);
      // The card itself answers to bob's PIN and holds his authentication certificate.
      const mine = (await srv.rt.demoAgents!.view(bobId)).agent!;
      const reader = mine.readers.find((r) => r.serial === '10000002')!.reader;
      const s = await PivSession.open(await srv.rt.cardAccess.connect(bobId, mine.id, reader));
      await s.verifyPin(PIN);
      expect(await s.getCertificate(0x9a)).toBeDefined();
      expect(pageErrors).toEqual([]);
    });
  },
);
