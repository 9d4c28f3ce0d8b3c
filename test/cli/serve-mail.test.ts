// `tessera serve` with mail configured says so at start-up, with the SMTP URL's user and password
// masked; a bad TESSERA_SMTP_URL stops start-up with a message that does not repeat it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-serve-mail-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const env = { TESSERA_DATA_DIR: dataDir, PORT: '0', TESSERA_MASTER_KEY: '', TESSERA_ALLOW_EMBEDDED: '1' };

describe('tessera serve with mail', { timeout: 300_000 }, () => {
  it('prints where mail goes, never the SMTP credentials', async () => {
    const cli = startCli(['serve'], {
      ...env,
      TESSERA_SMTP_URL: 'smtp://mailer:pw-Secret9@127.0.0.1:2525',
      TESSERA_MAIL_FROM: 'cms@example.test',
    });
    try {
      const [, where] = await cli.waitFor(/E-mail\s+(.+)\n/, 240_000);
      expect(where).toBe('smtp://***:***@127.0.0.1:2525 (initial passwords are e-mailed)');
      expect(cli.output()).not.toContain('pw-Secret9');
      expect(cli.output()).not.toContain('mailer:');
    } finally {
      await cli.stop();
    }
  });

  it('says so when mail goes in plain text (?tls=none)', async () => {
    const cli = startCli(['serve'], {
      ...env,
      TESSERA_SMTP_URL: 'smtp://mailer:pw-Secret9@127.0.0.1:2525?tls=none',
      TESSERA_MAIL_FROM: 'cms@example.test',
    });
    try {
      const [, where] = await cli.waitFor(/E-mail\s+(.+)\n/, 240_000);
      expect(where).toBe('smtp://***:***@127.0.0.1:2525 (no TLS!) (initial passwords are e-mailed)');
      expect(cli.output()).not.toContain('pw-Secret9');
    } finally {
      await cli.stop();
    }
  });

  it('refuses a malformed SMTP URL without repeating it', async () => {
    for (const url of [
      'mailer:pw-Secret9@mail.example.test',
      'smtp://mailer:pw-Secret9%@mail.example.test',
    ]) {
      const r = await runCli(['serve'], { ...env, TESSERA_SMTP_URL: url });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/TESSERA_SMTP_URL must look like smtp:\/\//);
      expect(r.stderr).not.toMatch(/URIError/);
      expect(r.stdout + r.stderr).not.toContain('pw-Secret9');
    }
  });
});
