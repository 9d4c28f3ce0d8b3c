// The server's logger: every secret-bearing body field (passwords, PINs and their confirmations,
// security answers, the directory's bind password, tokens) is replaced before a line is written.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/http/app.js';

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    log: pino(loggerOptions('info'), stream),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('log redaction', () => {
  it('replaces the secrets of request bodies and keeps the rest', () => {
    const { log, lines } = capture();
    const secrets = {
      password: 'Pass-1',
      pin: '135790',
      confirmation: '135791',
      pinConfirmation: '135792',
      newPin: '246800',
      puk: '12345678',
      bindPassword: 'Bind-Pass-2',
      answer: 'Rex',
      token: 'agent-token-3',
      csrfToken: 'csrf-4',
      privateKeyPem: '-----BEGIN PRIVATE KEY-----',
    };
    log.info({ body: { username: 'bob', ...secrets } }, 'request body');
    log.info({ body: { username: 'bob', answers: [{ questionId: 'q1', answer: 'Toto' }] } }, 'request body');
    const [first, second] = lines();
    const body = first!.body as Record<string, unknown>;
    expect(body.username).toBe('bob');
    for (const key of Object.keys(secrets)) expect(body[key], key).toBe('[redacted]');
    expect((second!.body as Record<string, unknown>).answers).toBe('[redacted]');
    const text = JSON.stringify(lines());
    for (const v of [...Object.values(secrets), 'Toto']) expect(text).not.toContain(v);
  });
});
