// The Content-Security-Policy in Chromium: the portals run under it without a single refusal
// (every browser test fails on one: openBrowserPage counts them as page errors), and the same
// policy does refuse an inline script — so a refusal would be seen, not silently tolerated.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src/http/security-headers.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ensureWebBuilt, hasChromium, openBrowserPage, POLL, signInOperator } from './browser.js';

describe.skipIf(!hasChromium)('Content-Security-Policy in Chromium', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startTestServer({ demo: true });
    ({ browser, context, page } = await openBrowserPage(server.url, pageErrors));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  it('the operator portal and the user portal render under the policy without a refusal', async () => {
    await signInOperator(page, server.admin.username, server.admin.password);
    for (const [path, heading] of [
      ['/operator/devices', 'Devices'],
      ['/operator/requests', 'Requests'],
      ['/operator/policies', 'Device policies'],
      ['/operator/certificates', 'Certificates'],
      ['/operator/audit', 'Audit log'],
    ] as const) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    }
    await page.goto('/portal');
    await expect.poll(() => page.getByRole('button').count(), POLL).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });

  it('the same policy refuses an inline script, and the refusal is reported', async () => {
    const errors: string[] = [];
    const probe = await context.newPage();
    probe.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) errors.push(msg.text());
    });
    await probe.route('**/csp-probe', (route) =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/html', 'content-security-policy': CONTENT_SECURITY_POLICY },
        body: '<!doctype html><title>before</title><script>document.title = "ran"</script>',
      }),
    );
    await probe.goto('/csp-probe');
    await expect.poll(() => errors.length, POLL).toBeGreaterThan(0);
    expect(await probe.title()).toBe('before');
    expect(errors[0]).toMatch(/script-src 'self'/);
    await probe.close();
  });
});
