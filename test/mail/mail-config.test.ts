// Mail configuration: TESSERA_SMTP_URL and TESSERA_MAIL_FROM are read like every setting (file,
// then environment, then flags) and checked at start-up, and the SMTP password never appears in
// an error, a redacted URL or a send failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, redactSmtpUrl } from '../../src/config/config.js';
import { describeFailure, mailerFromConfig, SmtpMailer } from '../../src/mail/mailer.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';

describe('mail configuration', () => {
  it('is off by default, with a From derived from the external URL', () => {
    const c = loadConfig({}, { TESSERA_EXTERNAL_URL: 'https://cms.example.org' });
    expect(c.smtpUrl).toBeUndefined();
    expect(c.mailFrom).toBe('Tessera <tessera@cms.example.org>');
    expect(mailerFromConfig(c)).toBeNull();
  });

  it('reads the environment, and flags win over it', () => {
    const env = { TESSERA_SMTP_URL: 'smtps://u:p@mail.example.org', TESSERA_MAIL_FROM: 'cms@example.org' };
    const c = loadConfig({}, env);
    expect(c).toMatchObject({ smtpUrl: 'smtps://u:p@mail.example.org', mailFrom: 'cms@example.org' });
    expect(loadConfig({ smtpUrl: 'smtp://relay:25' }, env).smtpUrl).toBe('smtp://relay:25');
    expect(mailerFromConfig(c)?.describe).toBe('smtps://***:***@mail.example.org');
  });

  it('refuses a bad URL or From without echoing the password', () => {
    for (const bad of [
      'http://u:hunter2@mail.example.org',
      'smtp//u:hunter2@x',
      'u:hunter2@mail.example.org',
    ]) {
      let message = '';
      try {
        loadConfig({}, { TESSERA_SMTP_URL: bad });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^TESSERA_SMTP_URL must look like smtp:\/\//);
      expect(message).not.toContain('hunter2');
    }
    expect(() => loadConfig({}, { TESSERA_MAIL_FROM: 'not an address' })).toThrow(/TESSERA_MAIL_FROM/);
  });

  it('redacts user and password', () => {
    expect(redactSmtpUrl('smtp://me%40x.org:p%2Fw@mail.example.org:587')).toBe(
      'smtp://***:***@mail.example.org:587',
    );
    expect(redactSmtpUrl('smtp://mail.example.org')).toBe('smtp://mail.example.org');
    expect(describeFailure(new Error('boom p/w boom'), ['p/w'])).toBe('boom *** boom');
  });
});

describe('SmtpMailer over a real SMTP server', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp({ user: 'me@x.org', pass: 'p/w:secret' });
  });
  afterAll(async () => smtp?.close());

  it('authenticates with the URL-encoded credentials and delivers text and HTML', async () => {
    const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>');
    const seen = smtp.received.length;
    await m.send({ to: 'a@example.org', subject: 'Hi', text: 'plain body', html: '<p>html body</p>' });
    const got = await smtp.next(seen);
    expect(got.rcptTo).toEqual(['a@example.org']);
    expect(got.text.trim()).toBe('plain body');
    expect(got.html.trim()).toBe('<p>html body</p>');
  });

  it('a failure names the server answer, never the credentials or the message secrets', async () => {
    const wrong = new SmtpMailer(smtp.url.replace('secret', 'wrong'), 'Tessera <t@example.org>');
    await expect(
      wrong.send({ to: 'a@example.org', subject: 'x', text: 'y', html: 'z' }),
    ).rejects.toMatchObject({
      code: 'mail_failed',
      message: expect.stringMatching(/refused the user name or password/),
    });
    smtp.refuseRecipients = 'No such user: code-1234-abcd';
    try {
      const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>');
      const err = (await m
        .send({
          to: 'a@example.org',
          subject: 'x',
          text: 'code-1234-abcd',
          html: 'z',
          secrets: ['code-1234-abcd'],
        })
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/550 No such user: \*\*\*/);
      expect(err.message).not.toContain('secret');
    } finally {
      smtp.refuseRecipients = null;
    }
  });
});
