// The README's "Try a replacement in the demo", on a demo server as `tessera start` runs it: the
// built-in demo agents of the administrator and ivan.issuer (virtual readers over real sockets), the
// demo people and policies. Step 1 (cards for alice, bob and carol) goes through the API; steps 2–5
// are done in Chromium as the README tells a newcomer: hannah replaces alice's lost card, ivan
// issues it from the request in his Tessera Virtual Reader 1; carol's temporary card from his
// Reader 2 is terminated; bob reports his card stolen in the portal, vera approves, ivan binds the
// blank card of his Reader 3, and bob takes it to a demo reader and sets it up.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  hasChromium,
  launchChromium,
  POLL,
  signInOperator,
} from './browser.js';

type Browser = Awaited<ReturnType<typeof launchChromium>>;
interface Device {
  id: string;
  serial: string;
  state: string;
  userId: string | null;
}

describe.skipIf(!hasChromium)(
  'the README’s replacement walk on the demo server (Chromium, demo agents)',
  { timeout: 400_000 },
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    const pageErrors: string[] = [];
    const ids: Record<string, string> = {};

    const person = async (): Promise<Page> => {
      const ctx = await browser.newContext({
        baseURL: srv.url,
        viewport: { width: 1280, height: 900 },
        locale: BROWSER_LOCALE,
        timezoneId: BROWSER_TIME_ZONE,
      });
      ctx.setDefaultTimeout(30_000);
      contexts.push(ctx);
      const p = await ctx.newPage();
      p.on('pageerror', (err) => pageErrors.push(String(err)));
      return p;
    };
    const device = async (serial: string) =>
      (await admin.json<{ items: Device[] }>('GET', `/api/devices?q=${serial}`)).body.items.find(
        (d) => d.serial === serial,
      )!;
    const deviceRow = (p: Page, serial: string) =>
      p.getByRole('table', { name: 'Devices of this user' }).getByRole('row').filter({ hasText: serial });
    /** Issue a request's replacement from the Requests page with the card in one of ivan's readers. */
    const issueFromRequest = async (ivan: Page, who: RegExp, reader: string) => {
      await ivan.goto('/operator/requests?queue=issuance');
      await ivan
        .getByRole('table', { name: 'Awaiting issuance' })
        .getByRole('row')
        .filter({ hasText: who })
        .getByRole('link')
        .click();
      await ivan.getByRole('button', { name: 'Issue replacement' }).click();
      const dlg = ivan.locator('dialog[open]');
      // The demo's virtual card printer is proposed (its encoder is Reader 1); the README's walk
      // issues without printing.
      const print = dlg.getByLabel('Print the card on a card printer');
      await print.waitFor();
      await print.uncheck();
      await dlg.getByRole('radio', { name: new RegExp(reader) }).check();
      const pin = dlg.getByLabel('PIN', { exact: true });
      await pin.fill('582936');
      if (await dlg.getByLabel('Confirm PIN').count()) await dlg.getByLabel('Confirm PIN').fill('582936');
      await dlg.getByRole('button', { name: 'Continue' }).click();
      await ivan
        .locator('dialog[open]')
        .filter({ has: ivan.getByRole('heading', { name: 'Device issued' }) })
        .waitFor({ timeout: 120_000 });
      await ivan.getByRole('button', { name: 'Done' }).click();
    };

    beforeAll(async () => {
      await ensureWebBuilt();
      srv = await startTestServer({ demo: true, demoAgents: true });
      admin = new ApiClient(srv.url);
      await admin.login(srv.admin.username, srv.admin.password);
      for (const u of ['alice', 'bob', 'carol'])
        ids[u] = (
          await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${u}`)
        ).body.items.find((x) => x.username === u)!.id;
      // Step 1: the administrator issues alice, bob and carol a card from his demo readers 1, 2, 3.
      const policy = (
        await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
      ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!;
      const cards = (
        await admin.json<{ items: { agentId: string; reader: string; serial: string | null }[] }>(
          'GET',
          '/api/issuance/cards',
        )
      ).body.items;
      for (const [i, u] of ['alice', 'bob', 'carol'].entries()) {
        const card = cards.find((c) => c.reader === `Tessera Virtual Reader ${i + 1}`)!;
        const started = await admin.json<{ job: { id: string } }>('POST', '/api/issuance', {
          userId: ids[u],
          agentId: card.agentId,
          reader: card.reader,
          action: 'issue',
          policyId: policy.id,
          pin: '482913',
          pinConfirmation: '482913',
        });
        expect(started.status).toBe(202);
        const stream = await (
          await admin.call('GET', `/api/issuance/jobs/${started.body.job.id}/events`)
        ).text();
        expect(stream).toContain('"status":"succeeded"');
      }
      browser = await launchChromium();
    }, 300_000);

    afterAll(async () => {
      for (const c of contexts) await c.close();
      await browser?.close();
      await srv?.close();
    });

    it('steps 2–5 as the README tells them', async () => {
      const hannah = await person();
      const ivan = await person();
      await signInOperator(hannah, 'hannah.help', srv.demoPassword!);
      await signInOperator(ivan, 'ivan.issuer', srv.demoPassword!);

      // 2. Lost: hannah replaces alice's card (local issuance).
      await hannah.goto(`/operator/users/${ids.alice}`);
      await deviceRow(hannah, '10000001').getByRole('button', { name: 'Replace…' }).click();
      const replace = hannah.locator('dialog[open]');
      await replace.getByLabel(/^Lost/).check();
      await replace.getByLabel(/^Local issuance/).check();
      await replace.getByRole('button', { name: 'Request replacement' }).click();
      await deviceRow(hannah, '10000001')
        .getByText(/Replacement approved: request #\d+ \(lost\)/)
        .waitFor();

      // 3. Issued: ivan, from the request, with the card in his Tessera Virtual Reader 1.
      await issueFromRequest(ivan, /Alice/, 'Tessera Virtual Reader 1');
      await expect.poll(async () => (await device('10000001')).state, POLL).toBe('terminated');
      expect(await device('10000004')).toMatchObject({ state: 'active', userId: ids.alice });

      // 4. Forgotten: a temporary card from ivan's Reader 2, terminated when carol finds hers.
      await hannah.goto(`/operator/users/${ids.carol}`);
      await deviceRow(hannah, '10000003').getByRole('button', { name: 'Replace…' }).click();
      await hannah
        .locator('dialog[open]')
        .getByLabel(/^Forgotten/)
        .check();
      await hannah.locator('dialog[open]').getByRole('button', { name: 'Request replacement' }).click();
      await deviceRow(hannah, '10000003')
        .getByText(/Replacement approved/)
        .waitFor();
      await issueFromRequest(ivan, /Carol/, 'Tessera Virtual Reader 2');
      await hannah.reload();
      await deviceRow(hannah, '10000005').getByRole('button', { name: 'Terminate' }).click();
      await hannah.locator('dialog[open]').getByRole('button', { name: 'Terminate' }).click();
      await deviceRow(hannah, '10000005').getByText('Terminated', { exact: true }).waitFor();
      await deviceRow(hannah, '10000003').getByText('Active', { exact: true }).waitFor();

      // 5. Declared by the person: an initial password, the portal, security answers, the report.
      await hannah.goto(`/operator/users/${ids.bob}`);
      await hannah.getByRole('button', { name: 'Issue initial password' }).click();
      const ip = hannah.getByRole('dialog', { name: /Initial password for/ });
      await ip.getByRole('button', { name: 'Issue initial password' }).click();
      const password = (
        (await ip.getByLabel('Initial password', { exact: true }).textContent()) ?? ''
      ).trim();
      const bob = await person();
      await bob.goto('/portal');
      await bob.getByRole('button', { name: 'Start', exact: true }).click();
      await bob.getByLabel('Username').fill('bob');
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByLabel('Initial password').fill(password);
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByRole('heading', { level: 1, name: 'Set your security questions' }).waitFor();
      for (const [i, answer] of ['Rex', 'Lyon', 'Jules Ferry'].entries())
        await bob.getByLabel(`Answer ${i + 1}`).fill(answer);
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByRole('heading', { level: 1, name: 'Insert your smart card' }).waitFor();
      await bob.getByRole('button', { name: 'Back', exact: true }).click();
      await bob.getByRole('button', { name: "I don't have my smart card" }).click();
      await bob.getByRole('button', { name: 'Report a problem with my device 10000002' }).click();
      await bob.getByLabel('It was stolen').check();
      await bob.getByRole('button', { name: 'Report the problem' }).click();
      await bob
        .getByRole('list', { name: 'Your reports' })
        .getByText('Waiting for a validation officer')
        .waitFor();

      const vera = await person();
      await signInOperator(vera, 'vera.valid', srv.demoPassword!);
      await vera.goto('/operator/requests');
      await vera
        .getByRole('table', { name: 'Awaiting approval' })
        .getByRole('row')
        .filter({ hasText: /Bob/ })
        .getByRole('link')
        .click();
      await vera.getByRole('button', { name: 'Approve' }).click();
      await vera.locator('dialog[open]').getByRole('button', { name: 'Approve' }).click();
      await vera.getByRole('status').filter({ hasText: 'is approved' }).waitFor();

      await ivan.goto('/operator/requests?queue=binding');
      await ivan
        .getByRole('table', { name: 'Awaiting binding' })
        .getByRole('row')
        .filter({ hasText: /Bob/ })
        .getByRole('link')
        .click();
      await ivan.getByRole('button', { name: 'Bind device' }).click();
      await ivan
        .locator('dialog[open]')
        .getByLabel('Blank device')
        .selectOption({ label: '10000006 — Tessera virtual PIV card' });
      await ivan.locator('dialog[open]').getByRole('button', { name: 'Bind device' }).click();
      await ivan.getByRole('status').filter({ hasText: 'Device 10000006 is bound to Bob' }).waitFor();

      // Bob, back in the portal: Start finds his replacement ready; the card is in ivan's demo reader.
      await bob.goto('/portal');
      await bob.getByRole('button', { name: 'Start', exact: true }).click();
      await bob.getByRole('heading', { level: 1, name: 'Insert your smart card' }).waitFor();
      await bob.getByRole('button', { name: 'Take my card to a demo reader' }).click();
      await expect
        .poll(() => bob.getByRole('list', { name: 'Card readers' }).textContent(), POLL)
        .toContain('Your card 10000006 — ready to be set up.');
      await bob.getByRole('button', { name: 'Set up my card', exact: true }).click();
      await bob.getByRole('heading', { name: 'Choose your PIN' }).waitFor({ timeout: 120_000 });
      await bob.getByLabel('New PIN', { exact: true }).fill('719358');
      await bob.getByLabel('Confirm New PIN').fill('719358');
      await bob.getByRole('button', { name: 'Continue', exact: true }).click();
      await bob.getByRole('heading', { name: 'Your card is ready' }).waitFor();
      expect(await device('10000006')).toMatchObject({ state: 'active', userId: ids.bob });
      expect((await device('10000002')).state).toBe('terminated');
      const requests = (
        await admin.json<{ items: { state: string }[] }>('GET', '/api/requests?state=completed')
      ).body.items;
      expect(requests.length).toBe(3);
      expect(pageErrors).toEqual([]);
    });
  },
);
