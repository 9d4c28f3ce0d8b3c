// The operator pages the user portal depends on, in Chromium against a real server: an operator
// issues an initial password on the User page (shown once, and it really signs the person in to
// the portal; e-mailed over real SMTP to a person with an address); an administrator edits the security questions (client checks, then a question
// someone answered is refused removal and kept deactivated) and the number each person answers;
// and the directory page is configured against a real slapd, tested, synced (the people appear
// in the user list) — with the bind password never rendered back into the page.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import {
  ROOT_DN,
  ROOT_PW,
  SUFFIX,
  opensslAvailable,
  personLdif,
  slapdAvailable,
  startSlapd,
  type Slapd,
} from '../support/slapd.js';
import {
  browserClock,
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  POLL,
  screenshot,
  signInOperator,
} from './browser.js';

type Question = { id: string; text: string; active: boolean };

describe.skipIf(!hasChromium)('operator pages for the user portal, in Chromium', { timeout: 180_000 }, () => {
  let server: TestServer;
  let smtp: TestSmtp;
  let admin: ApiClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const pageErrors: string[] = [];
  const stamp = Date.now().toString(36);
  const username = `pat.${stamp}`;
  let userId: string;
  /** The portal session Pat opens with the initial password; used to answer questions. */
  const portal = { cookie: '', csrf: '' };

  const shoot = (name: string) => screenshot(page, shots, name);
  const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  const nav = (name: string) =>
    page.getByRole('navigation', { name: 'Operator sections' }).getByRole('link', { name });

  beforeAll(async () => {
    await ensureWebBuilt();
    smtp = await startSmtp();
    server = await startTestServer({ config: { smtpUrl: smtp.url, smtpCaFile: smtp.caFile! } });
    admin = new ApiClient(server.url);
    expect((await admin.login(server.admin.username, server.admin.password)).status).toBe(200);
    const created = await admin.json<{ id: string }>('POST', '/api/users', {
      username,
      displayName: 'Pat Portal',
    });
    expect(created.status).toBe(201);
    userId = created.body.id;
    ({ browser, context, page, shots } = await openBrowserPage(server.url, pageErrors, {
      width: 1280,
      height: 900,
    }));
    await signInOperator(page, server.admin.username, server.admin.password);
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  it('issues an initial password on the User page, shows it once, and it signs the person in', async () => {
    await page.goto(`/operator/users/${userId}`);
    await heading('Pat Portal').waitFor();
    await page.getByRole('button', { name: 'Issue initial password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Initial password for Pat Portal' });
    await dialog.waitFor();
    // Before issuing: what it is, that it supersedes earlier ones, that it is shown once.
    const intro = await dialog.textContent();
    expect(intro).toContain('sign in to the user portal to set themselves up');
    expect(intro).toContain('until they have finished setting up');
    expect(intro).toContain('cancels any initial password issued to this person before');
    await shoot('01-initial-password-explain');

    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/users/${userId}/initial-password`)),
      dialog.getByRole('button', { name: 'Issue initial password' }).click(),
    ]);
    expect(res.status()).toBe(201);
    const shown = dialog.getByLabel('Initial password', { exact: true });
    await shown.waitFor();
    const password = ((await shown.textContent()) ?? '').trim();
    expect(password).toMatch(/^[\w-]{19}$/);
    const expiresAt = ((await res.json()) as { expiresAt: string }).expiresAt;
    const after = (await dialog.textContent()) ?? '';
    expect(after).toContain('shown once');
    // The expiry in the browser's own zone (UTC+05:30), not the server's or UTC.
    expect(after).toMatch(/Valid until .*\d/);
    expect(after).toContain(browserClock(expiresAt));
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    // What the person does next: the portal address, Start, their username.
    expect(after).toContain(`${server.url}/portal`);
    expect(after).toContain('Start');
    expect(after).toContain(username);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => dialog.textContent(), POLL).toContain('Copied');
    await expectLabelledControls(page);
    await shoot('02-initial-password-shown');

    // Closing forgets it: it is nowhere in the page any more.
    await dialog.getByRole('button', { name: /close/i }).first().click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.content()).not.toContain(password);

    // The password shown really is the person's: it opens a user-portal session.
    const signIn = await fetch(`${server.url}/api/portal/auth/initial-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(signIn.status).toBe(200);
    const body = (await signIn.json()) as { user: { id: string }; csrfToken: string };
    expect(body.user.id).toBe(userId);
    portal.cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    portal.csrf = body.csrfToken;
  });

  it('says the password was e-mailed, and shows none, when mail is configured', async () => {
    const seen = smtp.received.length;
    const mailed = await admin.json<{ id: string }>('POST', '/api/users', {
      username: `mo.${stamp}`,
      displayName: 'Mo Mail',
      email: 'mo@example.org',
    });
    await page.goto(`/operator/users/${mailed.body.id}`);
    await heading('Mo Mail').waitFor();
    await page.getByRole('button', { name: 'Issue initial password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Initial password for Mo Mail' });
    await dialog.getByRole('button', { name: 'Issue initial password' }).click();
    await dialog.getByText('The initial password is being e-mailed to').waitFor();
    expect(await dialog.textContent()).toContain('mo@example.org');
    expect(await dialog.getByLabel('Initial password', { exact: true }).count()).toBe(0);
    const mail = await smtp.next(seen);
    expect(mail.rcptTo).toEqual(['mo@example.org']);
    expect(mail.text).toContain(`mo.${stamp}`);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('when the mail server refuses it, the outbox page shows the answer and sends it again; or the operator shows it', async () => {
    const seen = smtp.received.length;
    const rita = await admin.json<{ id: string }>('POST', '/api/users', {
      username: `rita.${stamp}`,
      displayName: 'Rita Refused',
      email: 'rita@example.org',
    });
    await page.goto(`/operator/users/${rita.body.id}`);
    await heading('Rita Refused').waitFor();
    await page.getByRole('button', { name: 'Issue initial password' }).click();
    const dialog = page.getByRole('dialog', { name: 'Initial password for Rita Refused' });
    expect(await dialog.textContent()).toContain('It is e-mailed to rita@example.org');
    smtp.refuseRecipients = 'Mailbox unavailable';
    try {
      await dialog.getByRole('button', { name: 'Issue initial password' }).click();
      await dialog.getByText('The initial password is being e-mailed to').waitFor();
      await dialog.getByRole('button', { name: 'Done' }).click();
      // The administrator's outbox: failed, with the server's answer (the page is reloaded until
      // the worker has tried).
      await page.goto('/operator/mail');
      await heading('Mail outbox').waitFor();
      const row = page.getByRole('row').filter({ hasText: 'rita@example.org' });
      for (;;) {
        if ((await row.getByText('550 Mailbox unavailable').count()) > 0) break;
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.waitForTimeout(200);
      }
      expect(await row.textContent()).toContain('Failed');
      await shoot('ip-mail-failed');
    } finally {
      smtp.refuseRecipients = null;
    }
    await page
      .getByRole('row')
      .filter({ hasText: 'rita@example.org' })
      .getByRole('button', { name: 'Send again to rita@example.org' })
      .click();
    const mail = await smtp.next(seen);
    expect(mail.rcptTo).toEqual(['rita@example.org']);
    // Shown instead: nothing more is mailed.
    await page.goto(`/operator/users/${rita.body.id}`);
    await heading('Rita Refused').waitFor();
    await page.getByRole('button', { name: 'Issue initial password' }).click();
    await dialog.getByLabel('Show it here instead of e-mailing it').check();
    await dialog.getByRole('button', { name: 'Issue initial password' }).click();
    const shown = dialog.getByLabel('Initial password', { exact: true });
    await shown.waitFor();
    expect(await shown.textContent()).toMatch(/^[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}$/);
    expect(smtp.received.length).toBe(seen + 1);
    await shoot('ip-shown-instead-of-mail');
    await dialog.getByRole('button', { name: 'I have handed it over — close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('offers no initial password for a suspended person', async () => {
    const other = await admin.json<{ id: string }>('POST', '/api/users', {
      username: `sam.${stamp}`,
      displayName: 'Sam Suspended',
    });
    expect((await admin.json('POST', `/api/users/${other.body.id}/suspend`, {})).status).toBe(200);
    await page.goto(`/operator/users/${other.body.id}`);
    await heading('Sam Suspended').waitFor();
    await page.getByRole('button', { name: 'Reactivate' }).waitFor();
    expect(await page.getByRole('button', { name: 'Issue initial password' }).count()).toBe(0);
  });

  it('lets an administrator add security questions and change how many are answered', async () => {
    // A new installation comes with six default questions; this administrator starts from none.
    await nav('Security questions').click();
    await heading('Security questions').waitFor();
    await expect
      .poll(() => page.getByLabel('Question 1', { exact: true }).inputValue(), POLL)
      .toBe('What was the name of your first pet?');
    const defaults = await admin.json<{ items: Question[] }>('GET', '/api/security-questions');
    expect(defaults.body.items.filter((q) => q.active)).toHaveLength(6);
    expect((await admin.json('PUT', '/api/security-questions', { items: [] })).status).toBe(200);
    await page.reload();
    await heading('Security questions').waitFor();
    await page.getByText('No security questions yet.').waitFor();
    // The default count is 3 and nothing is active: the page warns that nobody could answer.
    await page.getByRole('note').filter({ hasText: 'nobody could set their answers' }).waitFor();

    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByLabel('Question 1 (new)').fill('Pet?');
    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByLabel('Question 2 (new)').fill('  PET? ');
    // Checked here before anything is sent: too short, and the same question twice.
    let puts = 0;
    page.on('request', (r) => {
      if (r.method() === 'PUT' && r.url().endsWith('/api/security-questions')) puts++;
    });
    await page.getByRole('button', { name: 'Save questions' }).click();
    await page.getByText('Write the question (5 characters at least).').first().waitFor();
    await page.getByRole('alert').filter({ hasText: '2 questions need attention' }).waitFor();
    expect(await page.getByLabel('Question 1 (new)').getAttribute('aria-invalid')).toBe('true');
    await shoot('03-questions-invalid');
    await page.getByLabel('Question 1 (new)').fill('What was the name of your first pet?');
    await page.getByLabel('Question 2 (new)').fill('  what was the NAME of your first pet? ');
    await page.getByRole('button', { name: 'Save questions' }).click();
    await page.getByText('Same question as question 1.').waitFor();
    expect(puts).toBe(0);

    await page.getByLabel('Question 2 (new)').fill('In which town were you born?');
    await page.getByRole('button', { name: 'Add question' }).click();
    await page.getByLabel('Question 3 (new)').fill('What is your favourite meal?');
    await page.getByRole('button', { name: 'Save questions' }).click();
    await page.getByRole('status').filter({ hasText: 'Security questions saved: 3 active.' }).waitFor();
    expect(puts).toBe(1);
    await expectLabelledControls(page);
    await shoot('04-questions-saved');

    // The number each person answers lives in Security settings; the page links there.
    await page.getByRole('link', { name: 'Change this in Security settings.' }).click();
    await heading('Security settings').waitFor();
    await page.getByLabel('Number of security questions').fill('2');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor();
    await page.reload();
    await heading('Security settings').waitFor();
    await expect.poll(() => page.getByLabel('Number of security questions').inputValue(), POLL).toBe('2');

    const settings = await admin.json<{ securityQuestionCount: number }>('GET', '/api/settings');
    expect(settings.body.securityQuestionCount).toBe(2);
    const listed = await admin.json<{ items: Question[] }>('GET', '/api/security-questions');
    expect(listed.body.items.map((q) => [q.text, q.active])).toEqual([
      ['What was the name of your first pet?', true],
      ['In which town were you born?', true],
      ['What is your favourite meal?', true],
    ]);

    await page.getByRole('link', { name: 'Edit the questions' }).click();
    await heading('Security questions').waitFor();
    await page.reload();
    await heading('Security questions').waitFor();
    await expect
      .poll(() => page.getByLabel('Question 2', { exact: true }).inputValue(), POLL)
      .toBe('In which town were you born?');
    // The settings are read beside the questions and may answer after them.
    await expect
      .poll(() => page.locator('main').textContent(), POLL)
      .toMatch(/Each person answers 2 of the active questions/);
  });

  it('refuses to remove a question someone answered, and keeps it deactivated instead', async () => {
    const listed = await admin.json<{ items: Question[] }>('GET', '/api/security-questions');
    const [first, second] = listed.body.items;
    // Pat, signed in to the portal with the initial password, answers the first two questions.
    const answered = await fetch(`${server.url}/api/portal/security-questions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: portal.cookie, 'x-csrf-token': portal.csrf },
      body: JSON.stringify({
        answers: [
          { questionId: first!.id, answer: 'Rex the dog' },
          { questionId: second!.id, answer: 'Saint Malo' },
        ],
      }),
    });
    expect(answered.status).toBe(200);

    await page.reload();
    await heading('Security questions').waitFor();
    await page.getByLabel('Question 1', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Remove question 1' }).click();
    await page.getByRole('button', { name: 'Save questions' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'The security questions were not saved' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('mark them inactive instead');
    await shoot('05-questions-answered-refused');
    await refusal.getByRole('button', { name: 'Keep them, deactivated' }).click();
    // Back at the end of the list, inactive, marked as answered.
    await page.getByText('People have answered this question: it cannot be removed.').waitFor();
    expect(await page.getByLabel('Question 3 active').isChecked()).toBe(false);
    await page.getByRole('button', { name: 'Save questions' }).click();
    await page.getByRole('status').filter({ hasText: 'Security questions saved: 2 active.' }).waitFor();
    const after = await admin.json<{ items: Question[] }>('GET', '/api/security-questions');
    expect(after.body.items.find((q) => q.id === first!.id)).toEqual({ ...first, active: false });
    expect(after.body.items).toHaveLength(3);
  });

  describe.skipIf(!slapdAvailable || !opensslAvailable)(
    'the directory (LDAP) page against a real slapd over LDAPS',
    () => {
      let slapd: Slapd;
      const PEOPLE = `ou=people,${SUFFIX}`;
      const GROUPS = `ou=groups,${SUFFIX}`;

      beforeAll(async () => {
        // LDAPS with a throwaway CA: the page is first saved without the CA, then given it.
        slapd = await startSlapd({ tls: true });
        slapd.add(`dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`);
        slapd.add(
          [
            personLdif({
              uid: `ldap.ann.${stamp}`,
              cn: 'Ann Directory',
              mail: 'ann@example.org',
              employeeNumber: 'E1',
            }),
            personLdif({ uid: `ldap.bob.${stamp}`, cn: 'Bob Directory', employeeNumber: 'E2' }),
          ].join('\n'),
        );
        slapd.add(
          `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n` +
            `dn: cn=helpdesk,${GROUPS}\nobjectClass: groupOfNames\ncn: helpdesk\nmember: uid=ldap.ann.${stamp},${PEOPLE}\n`,
        );
      });
      afterAll(async () => slapd?.stop());

      const passwordNowhere = async () => {
        expect(await page.getByLabel('Bind password', { exact: true }).inputValue()).toBe('');
        expect(await page.content()).not.toContain(ROOT_PW);
      };

      it('saves the settings (checked first), tests the connection, and never shows the bind password', async () => {
        await nav('Directory (LDAP)').click();
        await heading('Directory (LDAP)').waitFor();
        await page.getByText('Not configured yet').waitFor();
        await expectLabelledControls(page);

        await page.getByLabel('Directory enabled').check();
        await page.getByLabel('Server URL').fill('http://not-ldap.example');
        await page.getByRole('button', { name: 'Save directory settings' }).click();
        const check = page.getByRole('alert').filter({ hasText: 'Check these settings before saving' });
        await check.waitFor();
        expect(await check.textContent()).toContain('must start with ldap:// or ldaps://');
        expect(await check.textContent()).toContain('Enter the base DN');

        await page.getByLabel('Server URL').fill(slapd.tls!.ldapsUrl);
        await page.getByLabel('Timeout (seconds)').fill('5');
        await page.getByLabel('Bind DN').fill(ROOT_DN);
        await page.getByLabel('Bind password', { exact: true }).fill(ROOT_PW);
        await page.getByLabel('Base DN', { exact: true }).fill(PEOPLE);
        await page.getByRole('button', { name: 'Add property' }).click();
        await page.getByLabel('Property 1 name').fill('employeeId');
        await page.getByLabel('Property 1 LDAP attribute').fill('employeeNumber');
        // Members of the helpdesk group get the Help desk role.
        await page.getByLabel('Groups base DN (optional)').fill(GROUPS);
        await page.getByRole('button', { name: 'Add group mapping' }).click();
        await page.getByLabel('Group 1 DN').fill(`cn=helpdesk,${GROUPS}`);
        await page.getByLabel('Group 1: Help desk').check();
        // A filter only the server can judge: its refusal is shown, with what to fix.
        await page.getByLabel('User filter').fill('(objectClass=inetOrgPerson');
        await page.getByRole('button', { name: 'Save directory settings' }).click();
        const refused = page.getByRole('alert').filter({ hasText: 'The directory settings were not saved' });
        await refused.waitFor();
        expect(await refused.textContent()).toContain('userFilter is not a valid LDAP filter');
        await shoot('06-directory-invalid');

        await page.getByLabel('User filter').fill('(objectClass=inetOrgPerson)');
        await page.getByRole('button', { name: 'Save directory settings' }).click();
        await page.getByRole('status').filter({ hasText: 'Directory settings saved.' }).waitFor();
        await page.getByText('A password is stored (encrypted; it is never shown)').waitFor();
        await passwordNowhere();

        await page.reload();
        await heading('Directory (LDAP)').waitFor();
        await expect.poll(() => page.getByLabel('Server URL').inputValue(), POLL).toBe(slapd.tls!.ldapsUrl);
        expect(await page.getByLabel('Bind DN').inputValue()).toBe(ROOT_DN);
        expect(await page.getByLabel('Property 1 LDAP attribute').inputValue()).toBe('employeeNumber');
        expect(await page.getByLabel('Group 1: Help desk').isChecked()).toBe(true);
        await passwordNowhere();
        const stored = await admin.json<Record<string, unknown>>('GET', '/api/directory');
        expect(stored.body).toMatchObject({ enabled: true, hasBindPassword: true, baseDn: PEOPLE });

        // The certificate comes from a CA the server does not know yet: the failure says what to do.
        await page.getByRole('button', { name: 'Test connection' }).click();
        const untrusted = page.getByRole('alert').filter({ hasText: 'The connection test failed' });
        await untrusted.waitFor();
        const why = (await untrusted.textContent()) ?? '';
        expect(why).toContain('TLS certificate Tessera does not trust');
        expect(why).toContain('Trusted CA certificates');
        expect(why).toContain('directory_certificate_rejected');
        expect(why).not.toContain(ROOT_PW);
        await shoot('07-directory-untrusted');
        await page.getByLabel('Trusted CA certificates (PEM, optional)').fill(slapd.tls!.caPem);
        await page.getByRole('button', { name: 'Save directory settings' }).click();
        await page.getByRole('status').filter({ hasText: 'Directory settings saved.' }).waitFor();
        await passwordNowhere();

        await page.getByRole('button', { name: 'Test connection' }).click();
        const ok = page.getByText(/Connection succeeded/);
        await ok.waitFor();
        expect(await ok.textContent()).toMatch(/selects 2 people/);
        await expectLabelledControls(page);
        expect(await untrusted.count()).toBe(0);
        await shoot('07-directory-tested');
      });

      it('syncs now: the report counts the people, and they appear in the user list', async () => {
        await page.getByRole('button', { name: 'Sync now' }).click();
        const report = page.getByRole('table', { name: 'Sync report' });
        await report.waitFor();
        expect(await report.getByRole('row', { name: /^Created/ }).textContent()).toContain('2');
        expect(await report.getByRole('row', { name: /^Suspended/ }).textContent()).toContain('0');
        await passwordNowhere();
        await shoot('08-directory-synced');

        await page.getByRole('link', { name: 'See the users' }).click();
        await heading('Users').waitFor();
        for (const uid of [`ldap.ann.${stamp}`, `ldap.bob.${stamp}`])
          await page.getByRole('link', { name: uid, exact: true }).waitFor();
        await page.getByRole('link', { name: `ldap.ann.${stamp}`, exact: true }).click();
        await heading('Ann Directory').waitFor();
        const details = (await page.getByRole('region', { name: 'Details' }).textContent()) ?? '';
        expect(details).toContain('Directory (LDAP)');
        expect(details).toContain('E1');
        expect(details).toMatch(/Roles.*Help desk/);
        await page.goBack();
        await page.getByRole('link', { name: `ldap.bob.${stamp}`, exact: true }).click();
        await heading('Bob Directory').waitFor();
        expect(await page.getByRole('region', { name: 'Details' }).textContent()).not.toContain('Help desk');
      });
    },
  );

  it('fits a phone screen: the new pages do not scroll sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    for (const [path, title] of [
      ['/operator/security-questions', 'Security questions'],
      ['/operator/directory', 'Directory (LDAP)'],
    ] as const) {
      await page.goto(path);
      await heading(title).waitFor();
      expect(await overflow(), path).toBeLessThanOrEqual(0);
    }
    await shoot('09-phone-directory');
    expect(pageErrors).toEqual([]);
  });
});
