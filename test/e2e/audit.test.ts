// The audit log in Chromium (issue 19 item 11): an event shows who, what and for whom by name,
// each linking to its page — the operator, the certificate, the person, the device, the CA — and no
// raw id until the event's Ids are expanded. On a demo server whose demo agent issues bob a card.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../agent/support.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  screenshot,
  signInOperator,
} from './browser.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe.skipIf(!hasChromium)('the audit log by name (Chromium)', { timeout: 300_000 }, () => {
  let srv: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  let admin: ApiClient;
  let bobId: string;
  let deviceId: string;
  const pageErrors: string[] = [];
  const shoot = (name: string) => screenshot(page, shots, name);

  beforeAll(async () => {
    await ensureWebBuilt();
    srv = await startTestServer({ demo: true, demoAgents: true });
    admin = new ApiClient(srv.url);
    await admin.login(srv.admin.username, srv.admin.password);
    bobId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=bob')).body.items[0]!.id;
    const policyId = (
      await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
    ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!.id;
    const card = (
      await admin.json<{ items: { agentId: string; reader: string; serial: string }[] }>(
        'GET',
        '/api/issuance/cards',
      )
    ).body.items.find((c) => c.serial === '10000002')!;
    const r = await admin.json<{ job: { id: string }; device: { id: string } }>('POST', '/api/issuance', {
      userId: bobId,
      agentId: card.agentId,
      reader: card.reader,
      action: 'issue',
      policyId,
      // The demo's initial-PIN mode is disguised: typed twice.
      pin: '482913',
      pinConfirmation: '482913',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    deviceId = r.body.device.id;
    await until(
      'the issuance to end',
      async () => {
        const j = (await admin.json<{ status: string }>('GET', `/api/issuance/jobs/${r.body.job.id}`)).body;
        return j.status === 'running' ? undefined : j;
      },
      120_000,
    );
    ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors, {
      width: 1280,
      height: 900,
    }));
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await srv?.close();
  });

  it('names the operator, the certificate, the person, the device and the CA, with ids on expand', async () => {
    // The API is additive: the same event with its refs.
    const api = await admin.json<{
      items: { targetId: string; details: Record<string, unknown>; refs: { type: string; name: string }[] }[];
    }>('GET', `/api/audit?action=certificate.issued&limit=1`);
    const event = api.body.items[0]!;
    expect(event.details.userId).toBe(bobId);
    expect(event.refs.map((r) => r.type).sort()).toEqual(['ca', 'certificate', 'device', 'user', 'user']);

    await signInOperator(page, srv.admin.username, srv.admin.password);
    await page.goto('/operator/audit?action=certificate.issued');
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    const row = page.getByRole('table', { name: 'Audit events' }).getByRole('row').nth(1);
    await row.getByRole('link', { name: 'Bob Baker (demo)', exact: true }).waitFor();
    // Names with links, no raw id in sight.
    const links = await row
      .getByRole('link')
      .evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')] as [string, string]));
    const actor = (
      await admin.json<{ user: { id: string; displayName: string } }>('GET', '/api/auth/session')
    ).body.user;
    expect(links).toEqual(
      expect.arrayContaining([
        [actor.displayName, `/operator/users/${actor.id}`],
        // A certificate by what it is and whose (which of bob's four is newest is not promised).
        [
          expect.stringMatching(/^PIV .+ · Bob Baker \(demo\)$|^Card authentication · Bob Baker \(demo\)$/),
          `/operator/certificates/${event.targetId}`,
        ],
        ['Bob Baker (demo)', `/operator/users/${bobId}`],
        ['10000002', '/operator/devices?q=10000002'],
        [expect.any(String), '/operator/ca'],
      ]),
    );
    expect(await row.innerText()).not.toMatch(UUID);
    await shoot('audit-names');

    // The ids are one click away: the raw details' ids, the target, the actor, the correlation.
    await row.getByText('Ids', { exact: true }).click();
    const ids = await row.locator('details.audit-ids').innerText();
    expect(ids).toContain(bobId);
    expect(ids).toContain(deviceId);
    expect(ids).toContain(event.targetId);
    expect(ids).toMatch(/credentialId/);
    await expectLabelledControls(page);
    await shoot('audit-ids-expanded');

    // On a phone each event is one block, its cells under their column's names, nothing off-screen.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const details = row.getByRole('cell').last();
      expect(await details.getAttribute('data-label')).toBe('Details');
      const box = (await details.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
      ).toBeLessThanOrEqual(0);
      await shoot('audit-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    // The person's link opens their page.
    await row.getByRole('link', { name: 'Bob Baker (demo)', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: /Bob Baker/ }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
