// The e-mails of a mobile ID (reference 004): the QR code and link when the policy (or the person)
// wants it e-mailed — the QR as an inline PNG, the link beside it; and the outcome notification.
// The link's one-time code is handed to the outbox as a secret, so a failure never repeats it.
import type { MailMessage } from '../../mail/mailer.js';

const formatUtc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function mobileIdLinkMessage(
  person: { displayName: string; email: string },
  link: { url: string; code: string; expiresAt: Date },
  qrPng: Buffer,
): MailMessage {
  const until = formatUtc(link.expiresAt);
  const text = [
    `Hello ${person.displayName},`,
    '',
    'You asked for a mobile ID in the Tessera user portal. Open this link on your phone (or scan the',
    'QR code in this e-mail with it); its Tessera wallet connects and your mobile ID is created:',
    '',
    `  ${link.url}`,
    '',
    `The link works once, until ${until}. Then choose Next in the portal.`,
    '',
    'If you did not ask for a mobile ID, tell your help desk and do not open the link.',
    '',
  ].join('\n');
  const h = escapeHtml;
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${h(person.displayName)},</p>
<p>You asked for a mobile ID in the Tessera user portal. Scan this QR code with your phone, or open the link on your phone; its Tessera wallet connects and your mobile ID is created:</p>
<p><img src="cid:mobile-id-qr" alt="QR code of the link" width="240" height="240"></p>
<p><a href="${h(link.url)}">Get my mobile ID on this phone</a></p>
<p>The link works once, until <strong>${h(until)}</strong>. Then choose <em>Next</em> in the portal.</p>
<p>If you did not ask for a mobile ID, tell your help desk and do not open the link.</p>
</body></html>
`;
  return {
    to: person.email,
    subject: 'Your mobile ID: open this link on your phone',
    text,
    html,
    secrets: [link.code, link.code.split('.')[1] ?? link.code],
    attachments: [
      {
        filename: 'mobile-id-qr.png',
        contentType: 'image/png',
        contentBase64: qrPng.toString('base64'),
        cid: 'mobile-id-qr',
      },
    ],
  };
}

export function mobileIdResultMessage(
  person: { displayName: string; email: string },
  outcome: { ok: true; validUntil: Date; certificates: number } | { ok: false; reason: string },
  portalUrl: string,
): MailMessage {
  const h = escapeHtml;
  const lines = outcome.ok
    ? [
        'Your mobile ID is active on your phone.',
        `It holds ${outcome.certificates} certificate${outcome.certificates === 1 ? '' : 's'} and is valid until ${formatUtc(outcome.validUntil)}.`,
      ]
    : [
        'Your mobile ID could not be created.',
        `What happened: ${outcome.reason}`,
        'You can order it again in the portal, or ask your help desk.',
      ];
  const text = [`Hello ${person.displayName},`, '', ...lines, '', `  Portal: ${portalUrl}`, ''].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>Hello ${h(person.displayName)},</p>
${lines.map((l) => `<p>${h(l)}</p>`).join('\n')}
<p><a href="${h(portalUrl)}">${h(portalUrl)}</a></p>
</body></html>
`;
  return {
    to: person.email,
    subject: outcome.ok ? 'Your mobile ID is active' : 'Your mobile ID could not be created',
    text,
    html,
  };
}
