// The agent download in Chromium: while none is built, the user portal's "connect your card reader"
// step and the operator's Agents page say so plainly (no link, no Node.js advice); once the real
// executable is in the server's downloads directory, both offer it with its SHA-256, the browser's
// download has exactly that digest, and the pairing command runs the downloaded file. At 1280 px
// and at phone width, nothing widens the page.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { ensureWebBuilt, hasChromium, openBrowserPage, POLL, screenshot, signInOperator } from './browser.js';

const FILE = 'tessera-agent-linux-x64';
const root = fileURLToPath(new URL('../../', import.meta.url));
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

/** The executable `npm run build` made (dist/downloads); a bare checkout builds it here. */
function ensureAgentBuilt(): string {
  const built = join(root, 'dist', 'downloads', FILE);
  if (!existsSync(built)) execFileSync(process.execPath, ['scripts/build-agent.mjs'], { cwd: root });
  return built;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!hasChromium || !onLinuxX64)('the agent download in Chromium', { timeout: 240_000 }, () => {
  let server: TestServer;
  let downloads: string;
  let browser: Browser;
  let operator: BrowserContext;
  let page: Page;
  let portal: BrowserContext;
  let person: Page;
  let shots: string;
  const pageErrors: string[] = [];

  const shoot = (p: Page, name: string) => screenshot(p, shots, name);
  const noSidewaysScroll = (p: Page) =>
    p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const downloadSection = () => page.getByRole('region', { name: 'Agent download' });

  /** The person's portal at the card step, where the agent is explained and paired. */
  async function toCardStep(): Promise<void> {
    await person.goto('/portal');
    await person.getByRole('heading', { level: 1, name: 'Welcome' }).waitFor();
    await person.getByRole('button', { name: 'Start', exact: true }).click();
    await person.getByRole('heading', { name: 'Connect this computer’s card reader' }).waitFor();
  }

  beforeAll(async () => {
    await ensureWebBuilt();
    downloads = mkdtempSync(join(tmpdir(), 'tessera-downloads-'));
    server = await startTestServer({ config: { downloadsDir: downloads } });
    const admin = new ApiClient(server.url);
    await admin.login(server.admin.username, server.admin.password);
    const settings = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    const put = await admin.json('PUT', '/api/settings', {
      ...settings,
      portalAuthMethods: ['initial_password'],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const user = await admin.json<{ id: string }>('POST', '/api/users', {
      username: 'dana.download',
      displayName: 'Dana Download',
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const issued = await admin.json<{ password: string }>(
      'POST',
      `/api/users/${user.body.id}/initial-password`,
      { delivery: 'displayed' },
    );
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);

    ({ browser, context: operator, page, shots } = await openBrowserPage(server.url, pageErrors));
    await signInOperator(page, server.admin.username, server.admin.password);
    // The cardholder in a browser of their own (a session cookie each).
    portal = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 860 } });
    portal.setDefaultTimeout(30_000);
    person = await portal.newPage();
    person.on('pageerror', (err) => pageErrors.push(String(err)));
    const signedIn = await person.request.post('/api/portal/auth/initial-password', {
      data: { username: 'dana.download', password: issued.body.password },
    });
    expect(signedIn.status(), await signedIn.text()).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await portal?.close();
    await operator?.close();
    await browser?.close();
    await server?.close();
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  it('says plainly that no agent is built, rather than linking nowhere', async () => {
    await toCardStep();
    const pair = person.locator('.portal-pair');
    await expect
      .poll(() => pair.textContent(), POLL)
      .toContain('This server has no agent download yet (it has not been built). Ask your help desk');
    expect(await pair.textContent()).not.toMatch(/Node\.js|IT department/);
    expect(await person.getByRole('link', { name: /Download the agent/ }).count()).toBe(0);
    await shoot(person, '01-portal-no-download');

    await page.goto('/operator/agents');
    await expect
      .poll(() => downloadSection().textContent(), POLL)
      .toContain('This server offers no agent download: the executable has not been built');
    expect(await downloadSection().textContent()).toContain('npm run build:agent');
    expect(await downloadSection().textContent()).toContain(
      'The same script builds the agent on a Windows or macOS computer',
    );
    await shoot(page, '02-agents-no-download');
  });

  it('offers the executable with its SHA-256 and runs the downloaded file in the pairing command', async () => {
    copyFileSync(ensureAgentBuilt(), join(downloads, FILE));
    const digest = sha256(readFileSync(join(downloads, FILE)));

    // Operator: the download, its digest, and the command to pair with it.
    await page.goto('/operator/agents');
    const link = downloadSection().getByRole('link', { name: 'Download the agent for Linux (x64)' });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(`/downloads/${FILE}`);
    expect(await downloadSection().textContent()).toContain(`SHA-256 ${digest}`);
    expect(await downloadSection().textContent()).toContain('No Windows or macOS build here');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe(FILE);
    expect(sha256(readFileSync((await download.path())!))).toBe(digest);
    await page.getByRole('button', { name: 'Pair an agent' }).click();
    const code = (await page.getByLabel('One-time pairing code').textContent())?.trim() ?? '';
    await expect
      .poll(() => page.locator('.pairing__command').textContent(), POLL)
      .toBe(`./${FILE} --server ${server.url} --pair ${code}`);
    await shoot(page, '03-agents-download');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await noSidewaysScroll(page)).toBeLessThanOrEqual(0);
    await shoot(page, '04-agents-download-phone');

    // Cardholder: the same download and digest, and a command that runs it.
    await toCardStep();
    const pair = person.locator('.portal-pair');
    await person.getByRole('link', { name: 'Download the agent for Linux (x64)' }).waitFor();
    expect(await pair.textContent()).toContain(`SHA-256 ${digest}`);
    expect(await pair.textContent()).toContain('No download for Windows or macOS here: ask your help desk.');
    await person.getByRole('button', { name: 'Get a pairing code' }).click();
    const command = (await person.getByLabel('Agent command').textContent())!;
    expect(command).toMatch(new RegExp(`^\\./${FILE} --server ${server.url} --pair [A-Z0-9]{8}$`));
    await person.getByText('Check and run it').click();
    expect(await pair.textContent()).toContain(`sha256sum ${FILE} must print the same SHA-256`);
    await shoot(person, '05-portal-download');
    await person.setViewportSize({ width: 390, height: 844 });
    expect(await noSidewaysScroll(person)).toBeLessThanOrEqual(0);
    await shoot(person, '06-portal-download-phone');
    expect(pageErrors).toEqual([]);
  });
});
