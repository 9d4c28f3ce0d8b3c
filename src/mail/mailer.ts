// Outgoing e-mail: one job, send a message over SMTP. The transport is built from the configured
// URL (smtp:// with STARTTLS required, smtps:// with TLS from the start, smtp://…?tls=none in
// plain text only because the operator asked for it, for a test server). A
// failure becomes a MailError whose message names what went wrong without the URL's credentials
// or the message's content (which may hold a password).
import { readFileSync } from 'node:fs';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { redactSmtpUrl, smtpPlainText } from '../config/config.js';
import { isEmailAddress } from './address.js';
import { ExternalError } from '../domain/errors.js';

export interface MailMessage {
  /** Exactly one bare address (checked by the caller, see isEmailAddress); it is also the envelope. */
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Strings in the message that must never reach an error or a log (a password it carries). */
  secrets?: string[];
  /** Files carried along (a QR code as a PNG, shown inline in the HTML through its cid). */
  attachments?: MailAttachment[];
  /**
   * The left part of the Message-ID (the mailer adds @ and the domain of From): the outbox names
   * each message by its row, so a copy a server might see twice carries the same id.
   */
  messageId?: string;
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  /** The file's bytes, base64 (so a message survives a JSON round trip through the outbox). */
  contentBase64: string;
  /** Content-ID for an inline image (`<img src="cid:…">`). */
  cid?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  /** Where mail goes, without credentials (start-up banner, logs). */
  readonly describe: string;
}

/** The mail server refused, failed or was unreachable. `reason` is safe to show and log. */
export class MailError extends ExternalError {
  constructor(
    readonly reason: string,
    /** What the person who asked for the mail can do about it. */
    advice = 'check the mail settings (TESSERA_SMTP_URL)',
    /**
     * The server refused this message for good (a 5xx answer to its sender, recipient or content):
     * sending it again would only be refused again. Otherwise (unreachable, TLS, login, 4xx) a
     * later attempt may succeed.
     */
    readonly permanent = false,
  ) {
    super('mail_failed', `The e-mail could not be sent (${reason}): ${advice}`, { reason });
  }
}

/** Whether nodemailer's error is the server refusing this very message with a 5xx answer. */
export function isPermanentFailure(e: unknown): boolean {
  const err = e as SmtpFailure;
  return (
    (err?.code === 'EENVELOPE' || err?.code === 'EMESSAGE') &&
    typeof err.responseCode === 'number' &&
    err.responseCode >= 500
  );
}

// An operator waits on the send: give up on a dead server in seconds, not nodemailer's minutes.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

type SmtpFailure = Error & { code?: string; responseCode?: number; response?: string; command?: string };

/** A reason for a failed send that names the step and the server's answer, never a secret. */
export function describeFailure(e: unknown, secrets: string[]): string {
  const err = e as SmtpFailure;
  let reason: string;
  // Fixed advice after the server's words: kept whole when a long answer is cut short.
  let advice = '';
  if (err?.code === 'ETLS' && err.response) {
    // requireTLS: the server answered STARTTLS with a refusal (it does not offer it).
    reason = `the mail server does not offer STARTTLS (it answered ${err.response})`;
    advice =
      ', and TLS is required so that the login and the password are not sent in clear: use a server ' +
      'that offers STARTTLS or smtps://; only for a test server, allow plain text with ?tls=none at ' +
      'the end of TESSERA_SMTP_URL';
  } else if (err?.code === 'ETLS' || /certificate/i.test(err?.message ?? '')) {
    reason = `the TLS connection to the mail server failed: ${err.message}`;
    advice =
      '; if its certificate comes from a private CA, point TESSERA_SMTP_CA_FILE at that CA certificate (PEM)';
  } else if (err?.code === 'EAUTH') {
    reason = `the mail server refused the user name or password${err.response ? ` (${err.response})` : ''}`;
  } else if (err?.responseCode) {
    // The server's own words (e.g. "550 5.1.1 <x@y>: Recipient address rejected"): useful and
    // free of our secrets, except that some servers echo what they were sent; scrubbed below.
    reason = `the mail server answered ${err.response ?? err.responseCode}`;
  } else if (err?.code === 'ECONNECTION' || err?.code === 'ETIMEDOUT' || err?.code === 'ESOCKET') {
    reason = `the mail server could not be reached: ${err.message}`;
  } else {
    reason = err instanceof Error ? err.message : String(e);
  }
  for (const s of secrets) if (s) reason = reason.split(s).join('***');
  return reason.replace(/\s+/g, ' ').trim().slice(0, 300) + advice;
}

/** Sends over SMTP; one connection per message (initial passwords are rare, no pool to keep). */
export class SmtpMailer implements Mailer {
  readonly describe: string;
  private readonly options: SMTPTransport.Options;
  // nodemailer is loaded on the first send, not at start-up: most servers send little or no mail,
  // and its modules cost ~15 MB of idle memory (docs/pki.md, idle memory).
  private transport: Promise<Transporter> | null = null;
  private readonly secrets: string[];

  private readonly fromAddress: string;

  constructor(
    url: string,
    private readonly from: string,
    /** PEM CA certificates to trust for the server's certificate instead of the system's. */
    caPem?: string,
  ) {
    const u = new URL(url);
    const plain = smtpPlainText(u);
    const bare = new URL(url);
    bare.search = '';
    this.describe = `${redactSmtpUrl(bare.toString())}${plain ? ' (no TLS!)' : ''}`;
    this.fromAddress = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim();
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    // The password as typed and as AUTH PLAIN / AUTH LOGIN put it on the wire (a server may echo
    // the command it refused).
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    this.secrets = pass
      ? [
          pass,
          u.password,
          b64(pass),
          b64(`\u0000${user}\u0000${pass}`),
          b64(`${user}\u0000${user}\u0000${pass}`),
        ]
      : [];
    this.options = {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587,
      secure: u.protocol === 'smtps:',
      // smtp://: STARTTLS or no send at all (nodemailer's default would carry on in clear when
      // the server does not offer it); ?tls=none: plain text as asked, not even opportunistic.
      ...(u.protocol === 'smtp:' ? (plain ? { ignoreTLS: true } : { requireTLS: true }) : {}),
      ...(caPem ? { tls: { ca: caPem } } : {}),
      ...(u.username ? { auth: { user, pass } } : {}),
      ...TIMEOUTS,
      // Never let nodemailer log the conversation (it would carry the message body).
      logger: false,
      debug: false,
    };
  }

  async send({ secrets = [], attachments = [], messageId, ...message }: MailMessage): Promise<void> {
    // nodemailer reads `to` (and even an explicit envelope) as an address list: "a@x.org,
    // b@evil.org" or "x <b@evil.org>" would reach someone else. One bare address, or no send.
    if (!isEmailAddress(message.to))
      throw new MailError(
        'the recipient is not one e-mail address',
        'nothing was sent; fix the address',
        true,
      );
    try {
      // The envelope is given, not derived from the headers: MAIL FROM is the From's address and
      // RCPT TO the one address checked above.
      this.transport ??= import('nodemailer').then((m) => m.default.createTransport(this.options));
      await (
        await this.transport
      ).sendMail({
        from: this.from,
        ...message,
        ...(messageId ? { messageId: `<${messageId}@${this.fromAddress.split('@')[1]}>` } : {}),
        ...(attachments.length
          ? {
              attachments: attachments.map((a) => ({
                filename: a.filename,
                contentType: a.contentType,
                content: Buffer.from(a.contentBase64, 'base64'),
                ...(a.cid ? { cid: a.cid } : {}),
              })),
            }
          : {}),
        envelope: { from: this.fromAddress, to: [message.to] },
      });
    } catch (e) {
      throw new MailError(
        describeFailure(e, [...this.secrets, ...secrets]),
        undefined,
        isPermanentFailure(e),
      );
    }
  }
}

/** The configured mailer, or null when no SMTP URL is set (nothing is e-mailed). */
export function mailerFromConfig(config: {
  smtpUrl: string | undefined;
  smtpCaFile?: string | undefined;
  mailFrom: string;
}): Mailer | null {
  if (!config.smtpUrl) return null;
  const ca = config.smtpCaFile ? readFileSync(config.smtpCaFile, 'utf8') : undefined;
  return new SmtpMailer(config.smtpUrl, config.mailFrom, ca);
}
