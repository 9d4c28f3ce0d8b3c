// The e-mail that carries a remote-issuance link to its person (reference 003, remote issuance; the
// one-time code rides in the link's fragment, docs/mobile.md): what it is for, that it is opened on
// the phone, until when it works. The code is handed to the mailer as a secret, so a failure never
// repeats it.
import type { MailMessage } from '../../mail/mailer.js';

/** "2026-11-24 10:00 UTC": unambiguous for a reader in any time zone. */
const formatUtc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function enrolmentMessage(
  person: { displayName: string; email: string },
  link: { url: string; code: string; expiresAt: Date; requestNumber: number },
): MailMessage {
  const until = formatUtc(link.expiresAt);
  const text = [
    `Hello ${person.displayName},`,
    '',
    `New credentials for your phone are ready for you (replacement request #${link.requestNumber}).`,
    'Open this link on your phone; its Tessera wallet shows them, and you set them up there and',
    'choose your PIN:',
    '',
    `  ${link.url}`,
    '',
    `The link works once, until ${until}. After that, ask your help desk for a new one.`,
    '',
    'If you did not ask your help desk for this, tell them and do not open the link.',
    '',
  ].join('\n');
  const h = escapeHtml;
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${h(person.displayName)},</p>
<p>New credentials for your phone are ready for you (replacement request #${link.requestNumber}). Open this link on your phone; its Tessera wallet shows them, and you set them up there and choose your PIN:</p>
<p><a href="${h(link.url)}">Set up my new credentials on this phone</a></p>
<p>The link works once, until <strong>${h(until)}</strong>. After that, ask your help desk for a new one.</p>
<p>If you did not ask your help desk for this, tell them and do not open the link.</p>
</body></html>
`;
  return {
    to: person.email,
    subject: 'New credentials for your phone are ready',
    text,
    html,
    secrets: [link.code, link.code.split('.')[1] ?? link.code],
  };
}
