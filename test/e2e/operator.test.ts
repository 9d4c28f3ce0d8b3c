// The operator portal in a real browser against a real Tessera server (PGlite in memory): the
// first administrator signs in, creates a user, opens their User page, registers a device, imports
// a CSV with one good and one bad row, edits a policy (a valid change is saved, an invalid one
// shows the server's message), and visits every main page — each screenshotted and checked for
// unlabelled form controls.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  POLL,
  screenshot,
} from './browser.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

describe.skipIf(!hasChromium)('operator portal in Chromium', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const pageErrors: string[] = [];
  const stamp = Date.now().toString(36);
  const username = `alice.${stamp}`;

  const shoot = (name: string) => screenshot(page, shots, name);
  const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  const nav = (name: string) =>
    page.getByRole('navigation', { name: 'Operator sections' }).getByRole('link', { name });

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startTestServer();
    ({ browser, context, page, shots } = await openBrowserPage(server.url, pageErrors));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('sends a visitor to the sign-in page and signs in the first administrator', async () => {
    await page.goto('/');
    await expect.poll(() => new URL(page.url()).pathname, POLL).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/operator');
    await expectLabelledControls(page);

    // A wrong password is refused with the server's message, code and correlation id.
    await page.getByLabel('Username').fill(server.admin.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const failure = page.getByRole('alert');
    await expect.poll(() => failure.textContent(), POLL).toMatch(/Sign-in failed/);
    expect(await failure.textContent()).toMatch(/unauthenticated/);
    await shoot('01-login-failed');

    await page.getByLabel('Password').fill(server.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Users').waitFor();
    expect(new URL(page.url()).pathname).toBe('/operator');
    expect(await page.getByRole('banner').textContent()).toContain(server.admin.username);
    // Not a demo server: no DEMO badge.
    expect(await page.getByText('DEMO', { exact: true }).count()).toBe(0);
    // An administrator sees every operator section.
    for (const section of [
      'Users',
      'Devices',
      'Device policies',
      'Certificates',
      'Certificate authorities',
      'Security settings',
      'Audit log',
    ])
      await nav(section).waitFor();
    await expectLabelledControls(page);
    await shoot('02-users');
  });

  it('opens and closes the New user dialog from the keyboard', async () => {
    const opener = page.getByRole('button', { name: 'New user' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('nu-username');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New user');
  });

  it('creates a user with a role and a property, and shows their User page', async () => {
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('Username').fill(username);
    await dialog.getByLabel('Display name').fill('Alice Example');
    await dialog.getByLabel('E-mail (optional)').fill(`${username}@example.org`);
    await dialog.getByLabel('Help desk').check();
    await dialog.getByRole('button', { name: 'Add property' }).click();
    await dialog.getByLabel('Property 1 name').fill('employeeId');
    await dialog.getByLabel('Property 1 value').fill('E-1001');
    await expectLabelledControls(page);
    await shoot('03-new-user');
    await dialog.getByRole('button', { name: 'Create user' }).click();

    await heading('Alice Example').waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/operator\/users\/[^/]+$/);
    await page.getByRole('status').filter({ hasText: 'User created.' }).waitFor();
    const details = page.getByRole('region', { name: 'Details' });
    expect(await details.textContent()).toContain('employeeId');
    expect(await details.textContent()).toContain('E-1001');
    expect(await details.textContent()).toContain('Help desk');
    await page
      .getByRole('region', { name: 'Devices' })
      .getByText('No devices assigned to this user.')
      .waitFor();
    await expectLabelledControls(page);
    await shoot('04-user-page');

    // Add Device lists the connected devices (none on this server: no reader) and its refresh;
    // Escape closes it. test/e2e/issuance.test.ts drives the whole issuance.
    await page.getByRole('button', { name: 'Add Device' }).click();
    const add = page.getByRole('dialog', { name: 'Add a device for Alice Example' });
    await add.getByRole('button', { name: 'Refresh connected devices' }).waitFor();
    await shoot('05-add-device');
    await page.keyboard.press('Escape');
    await add.waitFor({ state: 'hidden' });
  });

  it('suspends and reactivates the user after confirmation', async () => {
    await page.getByRole('button', { name: 'Suspend' }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend Alice Example?' });
    await confirm.getByLabel('Reason (recorded in the audit log)').fill('browser test');
    await confirm.getByRole('button', { name: 'Suspend' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'The user is now suspended' }).waitFor();
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await page
      .getByRole('dialog', { name: 'Reactivate Alice Example?' })
      .getByRole('button', { name: 'Reactivate' })
      .click();
    await page.getByRole('status').filter({ hasText: 'The user is now active' }).waitFor();
  });

  it('finds the new user with the search box', async () => {
    await nav('Users').click();
    await heading('Users').waitFor();
    await page.getByLabel('Search users').fill(username);
    await expect.poll(() => new URL(page.url()).searchParams.get('q'), POLL).toBe(username);
    await page.getByRole('link', { name: username }).waitFor();
    await expect.poll(() => page.getByRole('row').count(), POLL).toBe(2); // header + Alice
    // Role and state filters go to the server too.
    const url = () => new URL(page.url()).searchParams;
    await page.getByLabel('Search users').fill('');
    await expect.poll(() => url().get('q'), POLL).toBe(null);
    await page.getByLabel('Role').selectOption('helpdesk');
    await expect.poll(() => url().get('role'), POLL).toBe('helpdesk');
    await expect.poll(() => page.getByRole('row').count(), POLL).toBe(2); // header + Alice
    await page.getByRole('link', { name: username }).waitFor();
    await page.getByLabel('State').selectOption('suspended');
    await page.getByRole('cell', { name: 'No users match these filters.' }).waitFor();
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Role').selectOption('');
    await expect.poll(() => url().toString(), POLL).toBe('');
  });

  it('registers a device in inventory', async () => {
    await nav('Devices').click();
    await heading('Devices').waitFor();
    await page.getByRole('button', { name: 'Register a device' }).click();
    // The panel takes focus at its first field.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), POLL).toBe('reg-serial');
    await page.getByLabel('Serial number').fill(`E2E-${stamp}-1`);
    await page.getByLabel('Device type').selectOption('piv_card');
    await page.getByLabel('Model (optional)').fill('Test PIV card');
    await page.getByRole('button', { name: 'Register device' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `${stamp}-1 in inventory` })
      .waitFor();
    const devices = page.getByRole('table', { name: 'Devices' });
    const row = devices.getByRole('row').filter({ hasText: `E2E-${stamp}-1` });
    await row.waitFor();
    expect(await row.textContent()).toContain('Inventory');

    // The same serial again is a conflict, shown with its code and correlation id.
    await page.getByLabel('Serial number').fill(`E2E-${stamp}-1`);
    await page.getByRole('button', { name: 'Register device' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The device was not registered' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('conflict');
    expect(await alert.textContent()).toMatch(/Correlation ID/);
    await expectLabelledControls(page);
  });

  it('imports a CSV with one good and one bad row and shows the per-row report', async () => {
    const csv = [
      'serial,type,model,notes',
      `E2E-${stamp}-2,piv_token,Test token,from CSV`,
      `E2E-${stamp}-3,floppy,,`,
    ].join('\n');
    await page.getByRole('button', { name: 'Import from CSV' }).click();
    await page.getByLabel('CSV content').fill(csv);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('heading', { name: 'Import report: 1 created, 1 refused' }).waitFor();
    const report = page.getByRole('table', { name: 'Import result per line' });
    const good = report.getByRole('row').filter({ hasText: `E2E-${stamp}-2` });
    const bad = report.getByRole('row').filter({ hasText: `E2E-${stamp}-3` });
    expect(await good.textContent()).toContain('Created');
    expect(await bad.textContent()).toContain('Refused');
    // The refusal says why (the type), not just "refused".
    expect((await bad.locator('td').nth(3).textContent())?.trim().length).toBeGreaterThan(5);
    // The imported device is in the inventory table now.
    await page
      .getByRole('table', { name: 'Devices' })
      .getByRole('row')
      .filter({ hasText: `E2E-${stamp}-2` })
      .waitFor();
    await shoot('06-devices-import');
  });

  it('creates a policy, saves a new PIN minimum length, and shows the server refusing an invalid one', async () => {
    await nav('Device policies').click();
    await heading('Device policies').waitFor();
    await shoot('07-policies');
    await page.getByRole('link', { name: 'New policy' }).click();
    await heading('New device policy').waitFor();
    await page.getByLabel('Name', { exact: true }).fill(`E2E policy ${stamp}`);
    await page.getByLabel('Description').fill('Created by the browser test');
    await page.getByRole('button', { name: 'Create policy' }).click();
    await heading(`E2E policy ${stamp}`).waitFor();
    await page.getByRole('status').filter({ hasText: 'Policy created.' }).waitFor();
    const policyUrl = page.url();

    // The PIN rules preview runs the domain's own checker.
    await page.getByLabel('Try a sample PIN (not saved)').fill('123456');
    await page.getByText('No three characters in sequence (like 123, 321 or abc)').waitFor();
    // The checkbox says the rule the checker applies: 229900 passes it, 229990 does not.
    await page.getByLabel(/No character three or more times in a row/).check();
    await page.getByLabel('Try a sample PIN (not saved)').fill('229900');
    await page.getByText('This PIN would be accepted.').waitFor();
    await page.getByLabel('Try a sample PIN (not saved)').fill('229990');
    await page.getByText('No character three times in a row (like 111)').waitFor();
    await page.getByLabel('Try a sample PIN (not saved)').fill('');

    await page.getByLabel('PIN minimum length').fill('7');
    // A new policy starts at the server's default of 7 days for a temporary (forgotten-card) device.
    const temporary = page.getByLabel('Temporary device validity (days)');
    expect(await temporary.inputValue()).toBe('7');
    await temporary.fill('3');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Saved\. The policy is now at version \d+/ })
      .waitFor();
    await expectLabelledControls(page);
    await shoot('08-policy-saved');

    await page.goto(policyUrl);
    await heading(`E2E policy ${stamp}`).waitFor();
    expect(await page.getByLabel('PIN minimum length').inputValue()).toBe('7');
    expect(await temporary.inputValue()).toBe('3');
    // The server stored it too, not only the form.
    const stored = await page.evaluate(async (url) => {
      const id = new URL(url).pathname.split('/').pop() ?? '';
      const res = await fetch(`/api/policies/${id}`);
      return ((await res.json()) as { temporaryValidityDays: number }).temporaryValidityDays;
    }, policyUrl);
    expect(stored).toBe(3);

    // Below the contract's range (4..16): the server refuses and its message is shown by the form.
    await page.getByLabel('PIN minimum length').fill('3');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'The policy was not saved' });
    await refusal.waitFor();
    const text = (await refusal.textContent()) ?? '';
    expect(text).toMatch(/minLength/);
    expect(text).toContain('validation_failed');
    await refusal.scrollIntoViewIfNeeded();
    await shoot('09-policy-refused');

    // Nothing was saved: the stored policy still says 7.
    await page.goto(policyUrl);
    await heading(`E2E policy ${stamp}`).waitFor();
    expect(await page.getByLabel('PIN minimum length').inputValue()).toBe('7');
  });

  it('saves the security settings', async () => {
    await nav('Security settings').click();
    await heading('Security settings').waitFor();
    await page.getByLabel('Disguised').check();
    await page.getByLabel('Enable issuance retry for user').check();
    await page.getByLabel('Initial password validity (hours)').fill('24');
    await page.getByLabel('Initial password attempts').fill('3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    await page.reload();
    await heading('Security settings').waitFor();
    expect(await page.getByLabel('Disguised').isChecked()).toBe(true);
    expect(await page.getByLabel('Enable issuance retry for user').isChecked()).toBe(true);
    expect(await page.getByLabel('Initial password validity (hours)').inputValue()).toBe('24');
    expect(await page.getByLabel('Initial password attempts').inputValue()).toBe('3');
    // Out of range: the server refuses it and says what is allowed.
    await page.getByLabel('Initial password validity (hours)').fill('721');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('The settings were not saved').waitFor();
    await expectLabelledControls(page);
    await shoot('10-settings');

    // Layout (issue #19): at 1280 px nothing overflows and each number field's help text runs beside
    // its input; at phone width nothing overflows and the help text sits below the input.
    const overflow = () =>
      page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const boxes = async () => {
      const input = await page.getByLabel('Initial password validity (hours)').boundingBox();
      const hint = await page.locator('#set-ip-validity-hint').boundingBox();
      if (!input || !hint) throw new Error('the validity field or its help text is not laid out');
      return { input, hint };
    };
    expect(await overflow()).toBeLessThanOrEqual(0);
    let { input, hint } = await boxes();
    expect(hint.x).toBeGreaterThanOrEqual(input.x + input.width);
    expect(hint.width).toBeGreaterThan(300); // a readable line, not a narrow strip
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await expect.poll(overflow, POLL).toBeLessThanOrEqual(0);
      ({ input, hint } = await boxes());
      expect(hint.y).toBeGreaterThanOrEqual(input.y + input.height);
      await shoot('10-settings-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  it('shows certificates, CAs and the audit log, and verifies the audit chain', async () => {
    await nav('Certificates').click();
    await heading('Certificates').waitFor();
    await page.locator('table, [role="alert"]').first().waitFor();
    await expectLabelledControls(page);
    await shoot('11-certificates');

    await nav('Certificate authorities').click();
    await heading('Certificate authorities').waitFor();
    await page.locator('.ca-tree, [role="alert"], p.muted').first().waitFor();
    await expectLabelledControls(page);
    await shoot('12-ca');

    await nav('Audit log').click();
    await heading('Audit log').waitFor();
    await page.getByRole('cell', { name: 'user.create' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain intact: \d+ events checked\./).waitFor();
    await expectLabelledControls(page);
    await shoot('13-audit');
  });

  it('shows the user portal Welcome page in its own layout', async () => {
    await page.goto('/portal');
    await heading('Welcome').waitFor();
    expect(await page.getByRole('navigation', { name: 'Operator sections' }).count()).toBe(0);
    await page.getByRole('button', { name: "I don't have my smart card" }).waitFor();
    await shoot('14-portal');
    await page.getByRole('button', { name: 'Start' }).click();
    await heading('Sign in').waitFor();
    await page.getByLabel('Username').waitFor();
    await shoot('15-portal-start');
  });

  it('signs out, after which the operator portal asks to sign in again', async () => {
    await page.goto('/operator');
    await heading('Users').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();
    await page.goto('/operator/devices');
    await heading('Sign in').waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/operator/devices');
    expect(pageErrors).toEqual([]);
  });
});
