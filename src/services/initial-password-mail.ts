// The e-mail that carries an initial password to its owner: what it is, where the portal is, the
// username, the password, until when it is valid and that it is used up once set-up is done. Plain text and simple
// HTML. The password is handed to the mailer as a secret, so a failure never repeats it. The
// message goes through the mail outbox (services/notify/mail-outbox.ts).
import { isEmailAddress } from '../mail/address.js';
import { ValidationError } from '../domain/errors.js';
import type { MailMessage } from '../mail/mailer.js';
import type { Queryable } from '../store/db.js';
import type { User } from '../store/users-repo.js';
import type { InitialPasswordMailer } from './initial-password-service.js';
import type { MailOutbox } from './notify/mail-outbox.js';

/** "2026-11-24 10:00 UTC": unambiguous for a reader in any time zone. */
const formatUtc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function initialPasswordMessage(
  user: Pick<User, 'displayName' | 'username' | 'email'>,
  password: string,
  expiresAt: Date,
  portalUrl: string,
): MailMessage {
  const until = formatUtc(expiresAt);
  const text = [
    `Hello ${user.displayName},`,
    '',
    'An initial password was issued for you. With it you sign in to the Tessera user portal to set',
    'yourself up: your security questions, then your smart card and its PIN.',
    '',
    `  Portal:    ${portalUrl}`,
    `  Username:  ${user.username}`,
    `  Password:  ${password}`,
    '',
    `It is valid until ${until}. It is used up once you have finished setting up; after that, or`,
    'after too many wrong tries, ask your help desk for a new one.',
    '',
    'Open the portal on a computer with the Tessera agent, insert your card, choose Start and enter',
    'your username and this password.',
    '',
    'If you did not expect this e-mail, tell your help desk and do not use the password.',
    '',
  ].join('\n');
  const h = escapeHtml;
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${h(user.displayName)},</p>
<p>An initial password was issued for you. With it you sign in to the Tessera user portal to set yourself up: your security questions, then your smart card and its PIN.</p>
<table style="border-collapse: collapse">
<tr><th style="text-align: left; padding-right: 1em">Portal</th><td><a href="${h(portalUrl)}">${h(portalUrl)}</a></td></tr>
<tr><th style="text-align: left; padding-right: 1em">Username</th><td><code>${h(user.username)}</code></td></tr>
<tr><th style="text-align: left; padding-right: 1em">Password</th><td><code style="font-size: 1.2em">${h(password)}</code></td></tr>
</table>
<p>It is valid until <strong>${h(until)}</strong>. It is used up once you have finished setting up; after that, or after too many wrong tries, ask your help desk for a new one.</p>
<p>Open the portal on a computer with the Tessera agent, insert your card, choose <em>Start</em> and enter your username and this password.</p>
<p>If you did not expect this e-mail, tell your help desk and do not use the password.</p>
</body></html>
`;
  return {
    to: user.email!,
    subject: 'Your initial password for the Tessera user portal',
    text,
    html,
    secrets: [password],
  };
}

/**
 * Delivers initial passwords by e-mail through the mail outbox: the message is queued in the
 * transaction that stores the password, so a password exists exactly when its mail does, and the
 * outbox worker sends it (retrying while the mail server is down).
 */
export class InitialPasswordEmail implements InitialPasswordMailer {
  constructor(
    private readonly outbox: MailOutbox,
    /** Where people reach the user portal (config.externalUrl + /portal). */
    private readonly portalUrl: string,
  ) {}

  check(user: User): void {
    if (!user.email) throw new Error('check() needs a person with an e-mail address');
    // The address may come from the directory: a list or "Name <addr>" there would send the
    // password to more than its owner. Not quoted back: it is the value in doubt.
    if (!isEmailAddress(user.email))
      throw new ValidationError(
        `The e-mail address of ${user.username} is not a single valid address (name@example.org), so nothing was sent and nothing was changed: fix the address (on their page, or in the directory), or issue the password to be shown here instead`,
        { field: 'email' },
      );
  }

  async queue(tx: Queryable, user: User, password: string, expiresAt: Date): Promise<{ mailId: string }> {
    this.check(user);
    const m = await this.outbox.enqueue(tx, {
      kind: 'initial_password',
      userId: user.id,
      message: initialPasswordMessage(user, password, expiresAt, this.portalUrl),
    });
    return { mailId: m.id };
  }

  queued(): void {
    this.outbox.wake();
  }
}
