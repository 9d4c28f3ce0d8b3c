// What each kind of person sees: on a demo server (DEMO badge everywhere), a help-desk operator
// gets only the sections and buttons their permissions allow (and the server's 403 when they go
// around the navigation); a plain user is pointed to the user portal; the portal's Welcome page
// works without signing in.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  screenshot,
} from './browser.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

describe.skipIf(!hasChromium)('roles and the demo server in Chromium', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const pageErrors: string[] = [];

  const shoot = (name: string) => screenshot(page, shots, name);
  const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  const sections = () =>
    page.getByRole('navigation', { name: 'Operator sections' }).getByRole('link').allTextContents();

  async function signIn(username: string): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(server.demoPassword!);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startTestServer({ demo: true });
    ({ browser, context, page, shots } = await openBrowserPage(server.url, pageErrors));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('shows the DEMO badge on the sign-in page', async () => {
    await page.goto('/login');
    await page.getByText('DEMO', { exact: true }).waitFor();
  });

  it('answers wrong passwords and, once delayed, the right one alike; the administrator lifts the delay', async () => {
    // Five wrong passwords, then the right one: all refused the same way (decision 0022).
    for (let attempt = 1; attempt <= 6; attempt++) {
      await page.getByLabel('Username').fill('carol');
      await page.getByLabel('Password').fill(attempt === 6 ? server.demoPassword! : `wrong-${attempt}`);
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/auth/login')),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      expect(res.status()).toBe(401);
    }
    await page.getByRole('alert').filter({ hasText: 'Sign-in failed' }).waitFor();
    await page.getByText(/sign-in from this computer is delayed/).waitFor();
    await shoot('00-sign-in-delayed');

    await page.getByLabel('Username').fill(server.admin.username);
    await page.getByLabel('Password').fill(server.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Users').waitFor();
    await page.goto('/operator/settings');
    const delays = page.getByRole('region', { name: 'Sign-in delays' });
    await delays.getByRole('cell', { name: 'carol', exact: true }).first().waitFor();
    await shoot('00-sign-in-delays');
    await delays
      .getByRole('button', { name: /^Lift the delay on carol / })
      .first()
      .click();
    await delays.getByText(/The delay on carol .* is lifted/).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Lifted: carol (a plain user) is in, and sent on to the user portal.
    await signIn('carol');
    await heading('No operator access').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();
  });

  it('gives a help-desk operator only the sections and actions their permissions allow', async () => {
    await signIn('hannah.help');
    await heading('Users').waitFor();
    await page.getByRole('banner').getByText('DEMO', { exact: true }).waitFor();
    expect(await sections()).toEqual([
      'Users',
      'Devices',
      // Takes replacement requests (reference 003): request.read, request.submit.
      'Requests',
      'Device policies',
      // Reads the mobile ID policies and card layouts (policy.read); only administrators change them.
      'Mobile ID policies',
      'Card layouts',
      'Certificates',
      'Certificate authorities',
      'Audit log',
      // A help-desk operator pairs agents (agent.pair) to work with cards at their desk.
      'Agents',
    ]);
    expect(await page.getByRole('button', { name: 'New user' }).count()).toBe(0);
    await page.getByRole('link', { name: 'alice', exact: true }).waitFor();
    await shoot('01-helpdesk-users');

    // The User page: no lifecycle buttons, no Edit (user.lifecycle / user.update are not hers).
    await page.getByRole('link', { name: 'alice', exact: true }).click();
    await heading(/Alice/).waitFor();
    for (const name of ['Suspend', 'Terminate', 'Edit'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    // The help desk hands out initial passwords for the user portal (initial_password.issue).
    await page.getByRole('button', { name: 'Issue initial password' }).waitFor();

    await page.getByRole('link', { name: 'Devices' }).click();
    await heading('Devices').waitFor();
    expect(await page.getByRole('button', { name: 'Register a device' }).count()).toBe(0);

    // Policies are readable, not editable.
    await page.getByRole('link', { name: 'Device policies' }).click();
    await heading('Device policies').waitFor();
    await page.getByRole('table', { name: 'Device policies' }).getByRole('link').first().click();
    await page.getByLabel('PIN minimum length').waitFor();
    expect(await page.getByLabel('PIN minimum length').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save policy' }).count()).toBe(0);
    await expectLabelledControls(page);
    await shoot('02-helpdesk-policy');

    // Audit is readable; verifying the chain is an administrator's (audit.verify).
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading('Audit log').waitFor();
    expect(await page.getByRole('button', { name: 'Verify chain' }).count()).toBe(0);

    // Going around the navigation: the server says no, and the page says so clearly.
    await page.goto('/operator/settings');
    const refusal = page.getByRole('alert').filter({ hasText: 'Could not load the settings' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('forbidden');
    await shoot('03-helpdesk-settings-forbidden');
  });

  it('points a plain user to the user portal', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();
    await signIn('alice');
    await heading('No operator access').waitFor();
    expect(await sections()).toEqual([]);
    await page.getByRole('main').getByRole('link', { name: 'user portal' }).click();
    await heading('Welcome').waitFor();
    await page.getByText('DEMO', { exact: true }).waitFor();
  });

  it('walks the portal\'s "I don\'t have my smart card" page and back', async () => {
    await page.getByRole('button', { name: "I don't have my smart card" }).click();
    await heading('Sign in').waitFor();
    await page.getByText('Without your card you sign in with your security questions').waitFor();
    // Focus moves to the new heading, so screen readers announce the step.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await shoot('04-portal-no-card');
    await page.getByRole('button', { name: 'Back' }).click();
    await heading('Welcome').waitFor();
  });

  it('fits a phone screen: no page-wide horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shoot('05-phone-portal');
    await page.getByRole('link', { name: 'Skip to content' }).focus();
    await page.goto('/operator');
    await heading('No operator access').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.getByLabel('Username').fill('hannah.help');
    await page.getByLabel('Password').fill(server.demoPassword!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Users').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shoot('06-phone-users');
    await page.getByRole('link', { name: 'alice', exact: true }).click();
    await heading(/Alice/).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shoot('07-phone-user');
    expect(pageErrors).toEqual([]);
  });
});
