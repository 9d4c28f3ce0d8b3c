// Outgoing e-mail: one job, send a message over SMTP. The transport is built from the configured
// URL (smtp:// with STARTTLS when the server offers it, smtps:// with TLS from the start). A
// failure becomes a MailError whose message names what went wrong without the URL's credentials
// or the message's content (which may hold a password).
import nodemailer, { type Transporter } from 'nodemailer';
import { redactSmtpUrl } from '../config/config.js';
import { ExternalError } from '../domain/errors.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Strings in the message that must never reach an error or a log (a password it carries). */
  secrets?: string[];
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
  ) {
    super('mail_failed', `The e-mail could not be sent (${reason}): ${advice}`, { reason });
  }
}

// An operator waits on the send: give up on a dead server in seconds, not nodemailer's minutes.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

type SmtpFailure = Error & { code?: string; responseCode?: number; response?: string; command?: string };

/** A reason for a failed send that names the step and the server's answer, never a secret. */
export function describeFailure(e: unknown, secrets: string[]): string {
  const err = e as SmtpFailure;
  let reason: string;
  if (err?.code === 'EAUTH') {
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
  return reason.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Sends over SMTP; one connection per message (initial passwords are rare, no pool to keep). */
export class SmtpMailer implements Mailer {
  readonly describe: string;
  private readonly transport: Transporter;
  private readonly secrets: string[];

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.describe = redactSmtpUrl(url);
    const u = new URL(url);
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
    this.transport = nodemailer.createTransport({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587,
      secure: u.protocol === 'smtps:',
      ...(u.username ? { auth: { user, pass } } : {}),
      ...TIMEOUTS,
      // Never let nodemailer log the conversation (it would carry the message body).
      logger: false,
      debug: false,
    });
  }

  async send({ secrets = [], ...message }: MailMessage): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, ...message });
    } catch (e) {
      throw new MailError(describeFailure(e, [...this.secrets, ...secrets]));
    }
  }
}

/** The configured mailer, or null when no SMTP URL is set (nothing is e-mailed). */
export function mailerFromConfig(config: { smtpUrl: string | undefined; mailFrom: string }): Mailer | null {
  return config.smtpUrl ? new SmtpMailer(config.smtpUrl, config.mailFrom) : null;
}
