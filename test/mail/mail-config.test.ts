// Mail configuration: TESSERA_SMTP_URL, TESSERA_SMTP_CA_FILE and TESSERA_MAIL_FROM are read like
// every setting (file, then environment, then flags) and checked at start-up, and the SMTP password
// never appears in an error, a redacted URL or a send failure. smtp:// requires STARTTLS; plain
// text only with ?tls=none, and the banner says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, redactSmtpUrl } from '../../src/config/config.js';
import { describeFailure, MailError, mailerFromConfig, SmtpMailer } from '../../src/mail/mailer.js';
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

  it('refuses a password that is not percent-encoded, naming the fix and not the password', () => {
    const message = (() => {
      try {
        loadConfig({}, { TESSERA_SMTP_URL: 'smtp://me:100%hunter@mail.example.org' });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toMatch(/^TESSERA_SMTP_URL must look like smtp:\/\/.*percent-encoded \(% as %25/);
    expect(message).not.toContain('hunter');
    expect(loadConfig({}, { TESSERA_SMTP_URL: 'smtp://me:100%25@mail.example.org' }).smtpUrl).toBeDefined();
  });

  it('takes ?tls=none on smtp:// only, and no other option', () => {
    expect(loadConfig({}, { TESSERA_SMTP_URL: 'smtp://relay.test:25?tls=none' }).smtpUrl).toBe(
      'smtp://relay.test:25?tls=none',
    );
    for (const bad of [
      'smtp://u:pw1@relay:25?tls=off',
      'smtp://u:pw1@relay:25?tls=none&x=1',
      'smtp://u:pw1@relay?x=1',
    ])
      expect(() => loadConfig({}, { TESSERA_SMTP_URL: bad })).toThrow(
        /the only option it takes is \?tls=none/,
      );
    expect(() => loadConfig({}, { TESSERA_SMTP_URL: 'smtps://relay?tls=none' })).toThrow(/is for smtp:\/\//);
  });

  it('the banner line says when mail goes in plain text', () => {
    const plain = mailerFromConfig({ smtpUrl: 'smtp://u:p@relay.test:25?tls=none', mailFrom: 'a@b.test' });
    expect(plain?.describe).toBe('smtp://***:***@relay.test:25 (no TLS!)');
    const tls = mailerFromConfig({ smtpUrl: 'smtp://u:p@relay.test:587', mailFrom: 'a@b.test' });
    expect(tls?.describe).toBe('smtp://***:***@relay.test:587');
  });

  it('TESSERA_SMTP_CA_FILE must exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ca-'));
    try {
      const ca = join(dir, 'ca.pem');
      expect(() => loadConfig({}, { TESSERA_SMTP_CA_FILE: ca })).toThrow(
        `TESSERA_SMTP_CA_FILE points at ${ca}, which does not exist`,
      );
      writeFileSync(ca, 'x');
      expect(loadConfig({}, { TESSERA_SMTP_CA_FILE: ca }).smtpCaFile).toBe(ca);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('TESSERA_MAIL_FROM is one address, whole: no header injection, no list, nothing around it', () => {
    for (const good of [
      'cms@example.org',
      'Tessera Help Desk <cms@example.org>',
      '"Help, Desk" <cms@example.org>',
    ])
      expect(loadConfig({}, { TESSERA_MAIL_FROM: good }).mailFrom).toBe(good);
    for (const bad of [
      'Tessera\r\nBcc: evil@x.org <cms@example.org>',
      'Tessera <cms@example.org>\r\nBcc: evil@x.org',
      'cms@example.org\nBcc: evil@x.org',
      'evil@x.org <cms@example.org>',
      'a@x.org, cms@example.org',
      'Help, Desk <cms@example.org>',
      '<cms@example.org> trailing',
    ])
      expect(() => loadConfig({}, { TESSERA_MAIL_FROM: bad }), bad).toThrow(
        /TESSERA_MAIL_FROM must be one address/,
      );
  });

  it('redacts user and password', () => {
    expect(redactSmtpUrl('smtp://me%40x.org:p%2Fw@mail.example.org:587')).toBe(
      'smtp://***:***@mail.example.org:587',
    );
    expect(redactSmtpUrl('smtp://mail.example.org')).toBe('smtp://mail.example.org');
    expect(describeFailure(new Error('boom p/w boom'), ['p/w'])).toBe('boom *** boom');
    // A long server answer is cut short, the advice after it is not.
    const long = describeFailure(
      Object.assign(new Error('x'), { code: 'ETLS', response: `502 ${'x'.repeat(400)}` }),
      [],
    );
    expect(long).toMatch(
      /^the mail server does not offer STARTTLS \(it answered 502 x+, and TLS is required/,
    );
    expect(long).toMatch(/allow plain text with \?tls=none at the end of TESSERA_SMTP_URL$/);
  });
});

describe('SmtpMailer over a real SMTP server', () => {
  let smtp: TestSmtp;
  let plain: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp({ user: 'me@x.org', pass: 'p/w:secret' });
    plain = await startSmtp({ user: 'me@x.org', pass: 'p/w:secret', plain: true });
  });
  afterAll(async () => {
    await smtp?.close();
    await plain?.close();
  });

  it('authenticates with the URL-encoded credentials over STARTTLS and delivers text and HTML', async () => {
    const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>', smtp.caPem!);
    const seen = smtp.received.length;
    await m.send({ to: 'a@example.org', subject: 'Hi', text: 'plain body', html: '<p>html body</p>' });
    const got = await smtp.next(seen);
    expect(got.tls).toBe(true);
    expect(got.mailFrom).toBe('t@example.org');
    expect(got.rcptTo).toEqual(['a@example.org']);
    expect(got.text.trim()).toBe('plain body');
    expect(got.html.trim()).toBe('<p>html body</p>');
  });

  it('a failure names the server answer, never the credentials or the message secrets', async () => {
    const wrong = new SmtpMailer(smtp.url.replace('secret', 'wrong'), 'Tessera <t@example.org>', smtp.caPem!);
    await expect(
      wrong.send({ to: 'a@example.org', subject: 'x', text: 'y', html: 'z' }),
    ).rejects.toMatchObject({
      code: 'mail_failed',
      message: expect.stringMatching(/refused the user name or password/),
    });
    smtp.refuseRecipients = 'No such user: code-1234-abcd';
    try {
      const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>', smtp.caPem!);
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

  it('a server without STARTTLS is refused: TLS is required, ?tls=none allows plain text', async () => {
    const seen = plain.received.length;
    const m = new SmtpMailer(plain.url, 'Tessera <t@example.org>');
    const err = (await m
      .send({ to: 'a@example.org', subject: 'x', text: 'y', html: 'z' })
      .catch((e: unknown) => e)) as MailError;
    expect(err).toBeInstanceOf(MailError);
    expect(err.reason).toMatch(/does not offer STARTTLS .*TLS is required/);
    expect(err.reason).toMatch(/only for a test server, allow plain text with \?tls=none/);
    expect(err.message).not.toContain('secret');
    expect(plain.received.length).toBe(seen);

    const clear = new SmtpMailer(`${plain.url}?tls=none`, 'Tessera <t@example.org>');
    expect(clear.describe).toMatch(/ \(no TLS!\)$/);
    await clear.send({ to: 'a@example.org', subject: 'x', text: 'y', html: 'z' });
    expect((await plain.next(seen)).tls).toBe(false);
  });

  it('a certificate from a CA Tessera was not given is refused, naming TESSERA_SMTP_CA_FILE', async () => {
    const seen = smtp.received.length;
    const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>');
    const err = (await m
      .send({ to: 'a@example.org', subject: 'x', text: 'y', html: 'z' })
      .catch((e: unknown) => e)) as MailError;
    expect(err.reason).toMatch(/TLS connection to the mail server failed: .*certificate/);
    expect(err.reason).toMatch(/TESSERA_SMTP_CA_FILE/);
    expect(smtp.received.length).toBe(seen);
  });

  it('sends to exactly one bare address: a list or a display name is refused, nothing sent', async () => {
    const seen = smtp.received.length;
    const m = new SmtpMailer(smtp.url, 'Tessera <t@example.org>', smtp.caPem!);
    for (const to of [
      'victim@example.org, attacker@evil.test',
      'x <attacker@evil.test>',
      'a@example.org\r\nBcc: b@evil.test',
    ])
      await expect(m.send({ to, subject: 'x', text: 'y', html: 'z' }), to).rejects.toMatchObject({
        code: 'mail_failed',
        reason: 'the recipient is not one e-mail address',
      });
    expect(smtp.received.length).toBe(seen);
  });
});
