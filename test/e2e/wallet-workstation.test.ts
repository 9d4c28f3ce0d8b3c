// The phone as a workstation's smart card (docs/mobile.md "Use at a workstation"): bob's phone
// (Chromium, 390×844, the wallet at /wallet) is issued a mobile smart card; his workstation agent runs
// `tessera agent --wallet` and asks to pair; the phone shows the same code and bob allows it; the
// agent puts the phone into pcscd's vsmartcard reader (a private lease of the machine's pcscd, as the
// other vpcd tests). Judges: `yubico-piv-tool -a status` lists it; `pkcs11-tool --sign` with the PIN
// signs with the 9A key once bob allows the use on the phone, and `openssl` verifies the signature
// against the 9A certificate; refused on the phone, the signature fails; bob unpairs on the phone and
// the agent removes the card.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, saveIdentity } from '../../src/agent/identity.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';
import { portalSession } from '../wallet/support.js';
import { OPENSC_PKCS11, runTool } from '../support/card-tools.js';
import { acquirePcscd, pcscdMissing, toolMissing, type PcscdLease } from '../support/pcscd.js';
import { startCli, type RunningCli } from '../support/cli.js';
import {
  BROWSER_LOCALE,
  BROWSER_TIME_ZONE,
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  launchChromium,
  screenshot,
  screenshotDir,
} from './browser.js';

const PIN = '135790';
const missing =
  (hasChromium ? undefined : 'chromium is not installed') ??
  pcscdMissing() ??
  toolMissing('pkcs11-tool', 'yubico-piv-tool', 'openssl');
if (missing) console.warn(`\n*** SKIPPING the phone at a workstation: ${missing} ***\n`);

describe.skipIf(missing !== undefined)(
  "bob's phone as his workstation's smart card (Chromium wallet, tessera agent --wallet, pcscd + vpcd)",
  { timeout: 300_000 },
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let bob: ApiClient;
    let browser: Browser;
    let phone: BrowserContext;
    let wallet: Page;
    let lease: PcscdLease;
    let agent: RunningCli | undefined;
    let dir: string;
    let shots: string;
    const pageErrors: string[] = [];
    const p11 = (...args: string[]) =>
      runTool('pkcs11-tool', ['--module', OPENSC_PKCS11, ...args], { cwd: dir });
    const shoot = (name: string) => screenshot(wallet, shots, `ws-${name}`);

    beforeAll(async () => {
      await ensureWebBuilt();
      dir = mkdtempSync(join(tmpdir(), 'tessera-ws-'));
      srv = await startTestServer({ demo: true });
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      bob = await portalSession(srv.url, admin, 'bob');
      browser = await launchChromium();
      phone = await browser.newContext({
        baseURL: srv.url,
        locale: BROWSER_LOCALE,
        timezoneId: BROWSER_TIME_ZONE,
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      });
      phone.setDefaultTimeout(60_000);
      wallet = await phone.newPage();
      wallet.on('pageerror', (err) => pageErrors.push(String(err)));
      shots = screenshotDir();
      lease = await acquirePcscd();
    }, 240_000);

    afterAll(async () => {
      await agent?.stop();
      await lease?.release();
      await browser?.close();
      await srv?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('pairs on both sides, signs with the PIN and a confirmation on the phone, and unpairs from the phone', async () => {
      // Bob's phone gets its mobile smart card (self-issuance through the portal's API).
      const link = await bob.json<{ url: string }>('POST', '/api/wallet/links', {});
      await wallet.goto(link.body.url);
      await wallet.getByText(/Connected\. The server sees this phone as/).waitFor();
      const card = await until('the phone in the portal', async () =>
        (
          await bob.json<{ items: { agentId: string; reader: string }[] }>('GET', '/api/portal/cards')
        ).body.items.find((c) => c.reader.endsWith("'s phone")),
      );
      const start = await bob.json<{ job: { id: string; deviceId: string } }>(
        'POST',
        '/api/portal/issuance',
        {
          agentId: card.agentId,
          reader: card.reader,
        },
      );
      expect(start.status).toBe(202);
      await until(
        'the PIN asked',
        async () =>
          (
            await bob.json<{ pinChangePending: boolean }>(
              'GET',
              `/api/portal/issuance/jobs/${start.body.job.id}`,
            )
          ).body.pinChangePending || undefined,
        90_000,
      );
      await bob.json('POST', `/api/portal/issuance/jobs/${start.body.job.id}/pin`, {
        pin: PIN,
        confirmation: PIN,
      });
      await wallet.getByText('This phone is your smart card now.').waitFor();
      const certs = (
        await admin.json<{ items: { id: string; slot: string | null }[] }>(
          'GET',
          `/api/certificates?deviceId=${start.body.job.deviceId}`,
        )
      ).body.items;
      const auth = certs.find((c) => c.slot === '9a')!;
      writeFileSync(
        join(dir, 'cert9a.pem'),
        await (await admin.call('GET', `/api/certificates/${auth.id}/pem`)).text(),
      );
      const pub = await runTool('openssl', ['x509', '-in', 'cert9a.pem', '-pubkey', '-noout'], { cwd: dir });
      writeFileSync(join(dir, 'pub9a.pem'), pub.stdout);
      writeFileSync(join(dir, 'data.txt'), 'Signed at the workstation with the key on my phone\n');

      // Bob's workstation agent (paired in the portal as any agent), then `tessera agent --wallet`.
      const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
      const identity = await pairWithCode(srv.url, code, { name: 'Desk of bob' });
      const stateFile = join(dir, 'agent.json');
      saveIdentity(stateFile, identity);
      agent = startCli(['agent', '--wallet', '--state', stateFile]);
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');

      // The phone asks, with the same digits; bob allows it there.
      const ask = wallet
        .getByRole('listitem')
        .filter({ hasText: 'Desk of bob asks to use this phone as its smart card' });
      await ask.getByText(shown, { exact: true }).waitFor();
      await expectLabelledControls(wallet);
      await shoot('01-pairing');
      await ask.getByRole('button', { name: 'Allow Desk of bob' }).click();
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);
      await wallet.getByText('Desk of bob uses this phone as its smart card.').waitFor();

      // yubico-piv-tool lists it (its reader filter would otherwise look for "Yubikey").
      const status = await until(
        'yubico-piv-tool to see the phone',
        async () => {
          const r = await runTool('yubico-piv-tool', ['-r', 'Virtual', '-a', 'status']);
          return r.code === 0 && /Slot 9a/i.test(r.stdout) ? r : undefined;
        },
        60_000,
      );
      expect(status.stdout).toMatch(/PIN tries left:\s*3/);

      // pkcs11-tool signs with the PIN; the phone asks before the key is used.
      const signing = p11(
        '--login',
        '--pin',
        PIN,
        '--sign',
        '--id',
        '01',
        '-m',
        'ECDSA-SHA256',
        '--signature-format',
        'openssl',
        '-i',
        'data.txt',
        '-o',
        'sig.der',
      );
      const confirm = wallet.getByRole('alertdialog', {
        name: /Desk of bob asks to use your key to sign you in/,
      });
      await confirm.waitFor({ timeout: 90_000 });
      await shoot('02-confirm');
      await confirm.getByRole('button', { name: 'Allow' }).click();
      const signed = await signing;
      expect(signed.code, signed.output).toBe(0);
      const verified = await runTool(
        'openssl',
        ['dgst', '-sha256', '-verify', 'pub9a.pem', '-signature', 'sig.der', 'data.txt'],
        { cwd: dir },
      );
      expect(verified.output).toContain('Verified OK');

      // Refused on the phone: no signature.
      const refused = p11(
        '--login',
        '--pin',
        PIN,
        '--sign',
        '--id',
        '01',
        '-m',
        'ECDSA-SHA256',
        '-i',
        'data.txt',
        '-o',
        'no.der',
      );
      await confirm.waitFor({ timeout: 90_000 });
      await confirm.getByRole('button', { name: 'Refuse' }).click();
      expect((await refused).code).not.toBe(0);

      // Bob unpairs on the phone: the agent removes the card and stops.
      await wallet.getByRole('button', { name: 'Unpair Desk of bob' }).click();
      await agent.waitFor(/The pairing with your phone has ended/, 30_000);
      expect(await agent.stop()).toBe(0);
      agent = undefined;
      expect(pageErrors).toEqual([]);
    });
  },
);
