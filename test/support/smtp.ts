// A real SMTP server on loopback for tests (the smtp-server package, the same protocol engine as
// production mail servers speak to nodemailer): it takes mail for any recipient, optionally
// demands a user name and password, can be told to refuse recipients, and keeps every message
// received, parsed just enough to assert on (headers, plain text, HTML). It offers STARTTLS with a
// certificate from a throwaway openssl CA (and then takes AUTH only over TLS, as real servers
// do), unless started `plain` (no STARTTLS at all: the server Tessera must refuse by default).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { makeServerCertificate } from './slapd.js';

export interface ReceivedMail {
  /** Whether the session was upgraded with STARTTLS before the message. */
  tls: boolean;
  /** SMTP envelope. */
  mailFrom: string;
  rcptTo: string[];
  headers: Map<string, string>;
  text: string;
  html: string;
  raw: string;
}

export interface TestSmtp {
  /** smtp://user:pass@127.0.0.1:port (credentials only when required; no ?tls=none even when plain). */
  url: string;
  /** The CA certificate file (PEM) that issued the STARTTLS certificate; null when plain. */
  caFile: string | null;
  caPem: string | null;
  port: number;
  received: ReceivedMail[];
  /** When set, every RCPT TO is refused with this "550 …" answer. */
  refuseRecipients: string | null;
  /** Resolves with the next message received (or one already waiting beyond `seen`). */
  next(seen?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtp(
  /** port: listen there (a mail server coming back where it was); default a free one. */
  opts: { user?: string; pass?: string; plain?: boolean; port?: number } = {},
): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const state = { refuseRecipients: null as string | null };
  const dir = opts.plain ? null : mkdtempSync(join(tmpdir(), 'tessera-smtp-'));
  const caPem = dir ? makeServerCertificate(dir, ['IP:127.0.0.1', 'DNS:localhost']) : null;
  const options: SMTPServerOptions = {
    ...(dir
      ? {
          // STARTTLS on the plain port (secure: false), AUTH only once upgraded.
          secure: false,
          key: readFileSync(join(dir, 'server.key')),
          cert: readFileSync(join(dir, 'server.pem')),
          disabledCommands: opts.user ? [] : ['AUTH'],
          allowInsecureAuth: false,
        }
      : {
          disabledCommands: opts.user ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
          allowInsecureAuth: true,
        }),
    authOptional: !opts.user,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === opts.user && auth.password === opts.pass) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, cb) {
      if (state.refuseRecipients) cb(Object.assign(new Error(state.refuseRecipients), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          tls: session.secure,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          ...parseMessage(raw),
          raw,
        });
        waiters.splice(0).forEach((w) => w());
        cb();
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const cred = opts.user ? `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.pass ?? '')}@` : '';
  return {
    url: `smtp://${cred}127.0.0.1:${port}`,
    caFile: dir ? join(dir, 'ca.pem') : null,
    caPem,
    port,
    received,
    get refuseRecipients() {
      return state.refuseRecipients;
    },
    set refuseRecipients(v: string | null) {
      state.refuseRecipients = v;
    },
    next(seen = received.length) {
      return new Promise((resolve) => {
        const check = () => (received.length > seen ? resolve(received[seen]!) : waiters.push(check));
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => server.close(() => resolve())).finally(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
      }),
  };
}

/** Headers, text and HTML of a MIME message (multipart/alternative, 7bit, QP or base64; UTF-8). */
export function parseMessage(raw: string): { headers: Map<string, string>; text: string; html: string } {
  const out = { text: '', html: '' };
  const headers = walk(raw, out);
  return { headers, ...out };
}

function splitHead(entity: string): { headers: Map<string, string>; body: string } {
  const at = entity.search(/\r?\n\r?\n/);
  const head = at < 0 ? entity : entity.slice(0, at);
  const body = at < 0 ? '' : entity.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body };
}

function decode(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return Buffer.from(
        body
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ).toString('utf8');
    default:
      return body;
  }
}

function walk(entity: string, out: { text: string; html: string }): Map<string, string> {
  const { headers, body } = splitHead(entity);
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      walk(part.replace(/^\r?\n/, ''), out);
    }
  } else if (/^text\/html/i.test(type)) {
    out.html = decode(body, headers.get('content-transfer-encoding'));
  } else if (/^text\/plain/i.test(type)) {
    out.text = decode(body, headers.get('content-transfer-encoding'));
  }
  return headers;
}
