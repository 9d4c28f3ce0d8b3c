// Initial passwords e-mailed over real SMTP: a loopback smtp-server that offers STARTTLS (with a
// certificate from a throwaway CA, given as TESSERA_SMTP_CA_FILE) and demands a user name and
// password takes the message Tessera sends through nodemailer, from the mail outbox. A server
// without STARTTLS is refused unless the URL says ?tls=none. An address that is not exactly one is
// never mailed to. The mail names the portal, the username and the expiry, and its password signs
// the person in; the API, the outbox list and the audit log never carry the password. A mail
// server that refuses fails the message with its answer (an administrator sees it and may send it
// again); one that is not there, or refuses the login, leaves it queued and retried, and once the
// server is back it is sent exactly once. Validity and attempts follow the security settings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, freePort, startTestServer, type TestServer } from '../support/server.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';

type Issued = { password?: string; email?: string; mailId?: string; expiresAt: string; delivery: string };
type Mail = {
  id: string;
  status: string;
  attempts: number;
  lastError: string | null;
  recipient: string;
  kind: string;
};

/** The outbox's view of a message once `done` holds (the worker sends in the background). */
async function mailWhen(c: ApiClient, id: string, done: (m: Mail) => boolean): Promise<Mail> {
  for (;;) {
    const r = await c.json<Mail>('GET', `/api/mail/${id}`);
    expect(r.status).toBe(200);
    if (done(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
}
type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };

const SMTP_USER = 'tessera-mailer';
const SMTP_PASS = 'sm7p-S3cret!';
const EXTERNAL = 'http://tessera.example.test:8443';

let smtp: TestSmtp;
let srv: TestServer;
let admin: ApiClient;

async function createUser(
  username: string,
  email?: string,
  displayName = `Person ${username}`,
): Promise<string> {
  const r = await admin.json<{ id: string }>('POST', '/api/users', {
    username,
    displayName,
    ...(email ? { email } : {}),
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

const issue = (userId: string, body: unknown = {}) =>
  admin.json<Issued & Err>('POST', `/api/users/${userId}/initial-password`, body);

const portalSignIn = (username: string, password: string) =>
  fetch(`${srv.url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

async function auditOf(userId: string): Promise<{ action: string; details: string }[]> {
  return srv.rt.db.query<{ action: string; details: string }>(
    'SELECT action, details::text AS details FROM audit_events WHERE target_id = $1 ORDER BY seq',
    [userId],
  );
}

const passwordIn = (text: string) => /Password:\s+(\S+)/.exec(text)?.[1];

/** A portal sign-in that must be refused: 401 unauthenticated, exactly (not a 400 or a 500). */
async function expectSignInRefused(username: string, password: string): Promise<void> {
  const r = await portalSignIn(username, password);
  expect(r.status).toBe(401);
  expect(((await r.json()) as Err).error.code).toBe('unauthenticated');
}

beforeAll(async () => {
  smtp = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS });
  srv = await startTestServer({
    config: {
      smtpUrl: smtp.url,
      smtpCaFile: smtp.caFile!,
      mailFrom: 'Tessera Help Desk <helpdesk@example.test>',
      externalUrl: EXTERNAL,
      mailRetrySeconds: 1,
    },
  });
  admin = new ApiClient(srv.url);
  expect((await admin.login(srv.admin.username, srv.admin.password)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await smtp?.close();
});

describe('initial password by e-mail over SMTP', () => {
  it('sends it to the person: recipient, sender, subject, portal, username, expiry; it signs them in', async () => {
    const userId = await createUser('eve.email', 'eve@example.test');
    const seen = smtp.received.length;
    const r = await issue(userId);
    expect(r.status).toBe(201);
    expect(r.body.delivery).toBe('email');
    expect(r.body.email).toBe('eve@example.test');
    expect(r.body).not.toHaveProperty('password');
    const mail = await smtp.next(seen);
    const queued = await mailWhen(admin, r.body.mailId!, (m) => m.status === 'sent');
    expect(queued).toMatchObject({ kind: 'initial_password', recipient: 'eve@example.test', attempts: 1 });
    expect(mail.headers.get('message-id')).toBe(`<${r.body.mailId}@example.test>`);
    // Over STARTTLS, with the certificate checked against the CA in TESSERA_SMTP_CA_FILE.
    expect(mail.tls).toBe(true);
    expect(mail.rcptTo).toEqual(['eve@example.test']);
    expect(mail.mailFrom).toBe('helpdesk@example.test');
    expect(mail.headers.get('from')).toBe('Tessera Help Desk <helpdesk@example.test>');
    expect(mail.headers.get('to')).toBe('eve@example.test');
    expect(mail.headers.get('subject')).toBe('Your initial password for the Tessera user portal');
    expect(mail.text).toContain(`${EXTERNAL}/portal`);
    expect(mail.text).toMatch(/Username:\s+eve\.email/);
    expect(mail.text).toContain('used up once you have finished setting up');
    const until = `${r.body.expiresAt.slice(0, 16).replace('T', ' ')} UTC`;
    expect(mail.text).toContain(until);
    expect(mail.html).toContain(`href="${EXTERNAL}/portal"`);
    const password = passwordIn(mail.text);
    expect(password).toMatch(/^[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}$/);
    expect(mail.html).toContain(password);
    // The SMTP credentials went to the server, not into the message.
    expect(mail.raw).not.toContain(SMTP_PASS);

    const audit = await auditOf(userId);
    const issued = audit.find((a) => a.action === 'initial_password.issued');
    expect(JSON.parse(issued!.details)).toMatchObject({ delivery: 'email', email: 'eve@example.test' });
    expect(audit.map((a) => a.details).join(' ')).not.toContain(password!);

    const signIn = await portalSignIn('eve.email', password!);
    expect(signIn.status).toBe(200);
    expect(((await signIn.json()) as { user: { id: string } }).user.id).toBe(userId);
    // Good until the set-up is done (answers or a card): a closed browser can sign in again with it.
    expect((await portalSignIn('eve.email', password!)).status).toBe(200);
  });

  it('shows it instead when the operator asks, or the person has no address; refuses e-mail without one', async () => {
    const withMail = await createUser('sid.show', 'sid@example.test');
    const seen = smtp.received.length;
    const shown = await issue(withMail, { delivery: 'displayed' });
    expect(shown.status).toBe(201);
    expect(shown.body).toMatchObject({ delivery: 'displayed', password: expect.any(String) });
    const noMail = await createUser('nia.nomail');
    const r = await issue(noMail);
    expect(r.body).toMatchObject({ delivery: 'displayed', password: expect.any(String) });
    const refused = await issue(noMail, { delivery: 'email' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/no e-mail address/);
    expect((await issue(noMail, { delivery: 'fax' })).status).toBe(400);
    expect(smtp.received.length).toBe(seen);
  });

  it('a recipient the mail server refuses: the message fails with its answer; sent again once allowed', async () => {
    const userId = await createUser('rex.refused', 'rex@example.test');
    smtp.refuseRecipients = 'Mailbox unavailable';
    let r: { status: number; body: Issued & Err };
    let failed: Mail;
    try {
      r = await issue(userId);
      expect(r.status).toBe(201);
      failed = await mailWhen(admin, r.body.mailId!, (m) => m.status === 'failed');
    } finally {
      smtp.refuseRecipients = null;
    }
    // A 5xx refusal of the message is final: no retry, the server's words for the administrator.
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatch(/550 Mailbox unavailable/);
    const list = await admin.json<{ items: Mail[]; counts: Record<string, number> }>(
      'GET',
      `/api/mail?status=failed&userId=${userId}`,
    );
    expect(list.body.items.map((m) => m.id)).toEqual([r.body.mailId]);
    expect(JSON.stringify(list.body)).not.toMatch(/Password:/);
    // Sent again by an administrator: taken this time, once.
    const seen = smtp.received.length;
    const again = await admin.json<Mail>('POST', `/api/mail/${r.body.mailId}/resend`, {});
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('queued');
    const mail = await smtp.next(seen);
    expect(mail.rcptTo).toEqual(['rex@example.test']);
    await mailWhen(admin, r.body.mailId!, (m) => m.status === 'sent');
    const resendSent = await admin.json<Err>('POST', `/api/mail/${r.body.mailId}/resend`, {});
    expect(resendSent.status).toBe(400);
    expect(resendSent.body.error.message).toMatch(/only a failed message can be sent again/);
    expect((await portalSignIn('rex.refused', passwordIn(mail.text)!)).status).toBe(200);
    expect((await auditOf(r.body.mailId!)).map((a) => a.action)).toEqual(['mail.resent']);
  });

  it('a mail server that is not there: the password is issued, its mail waits and is sent once when the server is back', async () => {
    const port = await freePort();
    const down = await startTestServer({
      config: {
        // Plain text: the server that comes back has a certificate from a new throwaway CA.
        smtpUrl: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${port}?tls=none`,
        mailRetrySeconds: 1,
      },
    });
    let back: TestSmtp | null = null;
    try {
      const c = new ApiClient(down.url);
      expect((await c.login(down.admin.username, down.admin.password)).status).toBe(200);
      const u = await c.json<{ id: string }>('POST', '/api/users', {
        username: 'una.unreachable',
        displayName: 'Una',
        email: 'una@example.test',
      });
      const r = await c.json<Issued & Err>('POST', `/api/users/${u.body.id}/initial-password`, {});
      expect(r.status).toBe(201);
      expect(r.body.delivery).toBe('email');
      const waiting = await mailWhen(c, r.body.mailId!, (m) => m.attempts >= 2 && m.status === 'queued');
      expect(waiting.lastError).toMatch(/could not be reached/);
      expect(JSON.stringify(waiting)).not.toContain(SMTP_PASS);
      // The server comes back where it was: the next retry delivers, once.
      back = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS, port, plain: true });
      const mail = await back.next(0);
      await mailWhen(c, r.body.mailId!, (m) => m.status === 'sent');
      // More polls of the worker pass: still one message on the server.
      await down.rt.services.mailOutbox.sendDue();
      expect(back.received).toHaveLength(1);
      expect(mail.headers.get('message-id')).toBe(`<${r.body.mailId}@${new URL(down.url).hostname}>`);
      const signIn = await fetch(`${down.url}/api/portal/auth/initial-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'una.unreachable', password: passwordIn(mail.text) }),
      });
      expect(signIn.status).toBe(200);
    } finally {
      await down.close();
      await back?.close();
    }
  });

  it('wrong SMTP credentials: the message waits with the answer, without the password', async () => {
    const bad = await startTestServer({
      config: {
        smtpUrl: `smtp://${SMTP_USER}:wrong-${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${smtp.port}`,
        smtpCaFile: smtp.caFile!,
      },
    });
    try {
      const c = new ApiClient(bad.url);
      expect((await c.login(bad.admin.username, bad.admin.password)).status).toBe(200);
      const u = await c.json<{ id: string }>('POST', '/api/users', {
        username: 'abe.auth',
        displayName: 'Abe',
        email: 'abe@example.test',
      });
      const r = await c.json<Issued & Err>('POST', `/api/users/${u.body.id}/initial-password`, {});
      expect(r.status).toBe(201);
      const m = await mailWhen(c, r.body.mailId!, (x) => x.attempts >= 1 && x.status === 'queued');
      expect(m.lastError).toMatch(/refused the user name or password/);
      expect(JSON.stringify(m)).not.toContain(SMTP_PASS);
    } finally {
      await bad.close();
    }
  });

  it('validity and attempts come from the security settings', async () => {
    const settings = await admin.json<Record<string, unknown>>('GET', '/api/settings');
    expect(settings.body).toMatchObject({ initialPasswordValidityHours: 72, initialPasswordMaxAttempts: 5 });
    for (const bad of [
      { initialPasswordValidityHours: 0 },
      { initialPasswordValidityHours: 721 },
      { initialPasswordMaxAttempts: 21 },
    ])
      expect((await admin.json('PUT', '/api/settings', { ...settings.body, ...bad })).status).toBe(400);
    const put = await admin.json('PUT', '/api/settings', {
      ...settings.body,
      initialPasswordValidityHours: 1,
      initialPasswordMaxAttempts: 2,
    });
    expect(put.status).toBe(200);
    try {
      const userId = await createUser('val.hours');
      const before = Date.now();
      const r = await issue(userId);
      const expires = new Date(r.body.expiresAt).getTime();
      expect(expires).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000);
      // Two wrong tries burn it: the right one is refused afterwards.
      await expectSignInRefused('val.hours', 'wrong-1');
      await expectSignInRefused('val.hours', 'wrong-2');
      await expectSignInRefused('val.hours', r.body.password!);
      const audit = (await auditOf(userId)).map((a) => a.action);
      expect(audit).toContain('initial_password.burnt');
    } finally {
      await admin.json('PUT', '/api/settings', settings.body);
    }
  });

  it('the HTML part escapes the display name', async () => {
    const userId = await createUser('ann.html', 'ann@example.test', '<b>Ann & Co</b>');
    const seen = smtp.received.length;
    expect((await issue(userId)).status).toBe(201);
    const mail = await smtp.next(seen);
    expect(mail.html).toContain('Hello &lt;b&gt;Ann &amp; Co&lt;/b&gt;,');
    expect(mail.html).not.toContain('<b>Ann');
    expect(mail.text).toContain('Hello <b>Ann & Co</b>,');
  });

  it('an address that is not exactly one (from the directory) is refused: 400, nothing sent or changed', async () => {
    const userId = await createUser('lis.list', 'lis@example.test');
    const earlier = await issue(userId, { delivery: 'displayed' });
    for (const bad of ['lis@example.test, attacker@evil.test', 'Lis <attacker@evil.test>']) {
      // The API refuses such values; the directory sync stored them before it checked too.
      await srv.rt.db.query('UPDATE users SET email = $1 WHERE id = $2', [bad, userId]);
      const before = await auditOf(userId);
      const seen = smtp.received.length;
      const r = await issue(userId);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.message).toMatch(/e-mail address of lis\.list is not a single valid address/);
      expect(r.body.error.message).toMatch(
        /fix the address .*or issue the password to be shown here instead/,
      );
      expect(smtp.received.length).toBe(seen);
      expect(await auditOf(userId)).toEqual(before);
      // Choosing to show it works.
      const shown = await issue(userId, { delivery: 'displayed' });
      expect(shown.status).toBe(201);
      expect(shown.body.password).toEqual(expect.any(String));
    }
    expect(earlier.status).toBe(201);
  });
});

describe('a mail server without STARTTLS', () => {
  let plain: TestSmtp;
  beforeAll(async () => {
    plain = await startSmtp({ user: SMTP_USER, pass: SMTP_PASS, plain: true });
  });
  afterAll(async () => plain?.close());

  async function issueVia(smtpUrl: string, username: string): Promise<{ issued: Issued; mail: Mail }> {
    const s = await startTestServer({ config: { smtpUrl } });
    try {
      const c = new ApiClient(s.url);
      expect((await c.login(s.admin.username, s.admin.password)).status).toBe(200);
      const u = await c.json<{ id: string }>('POST', '/api/users', {
        username,
        displayName: username,
        email: `${username}@example.test`,
      });
      const r = await c.json<Issued>('POST', `/api/users/${u.body.id}/initial-password`, {});
      expect(r.status).toBe(201);
      const mail = await mailWhen(c, r.body.mailId!, (m) => m.attempts >= 1 && m.status !== 'sending');
      return { issued: r.body, mail };
    } finally {
      await s.close();
    }
  }

  it('is refused by default: the message waits, its answer saying TLS is required and how to allow plain text', async () => {
    const seen = plain.received.length;
    const { mail } = await issueVia(plain.url, 'tia.tls');
    expect(mail.status).toBe('queued');
    expect(mail.lastError).toMatch(/does not offer STARTTLS.*TLS is required/);
    expect(mail.lastError).toMatch(/only for a test server, allow plain text with \?tls=none/);
    expect(JSON.stringify(mail)).not.toContain(SMTP_PASS);
    expect(plain.received.length).toBe(seen);
  });

  it('is used in plain text when the URL says ?tls=none', async () => {
    const seen = plain.received.length;
    const r = await issueVia(`${plain.url}?tls=none`, 'pia.plain');
    expect(r.issued.delivery).toBe('email');
    expect(r.mail.status).toBe('sent');
    const mail = await plain.next(seen);
    expect(mail.tls).toBe(false);
    expect(mail.rcptTo).toEqual(['pia.plain@example.test']);
  });
});
