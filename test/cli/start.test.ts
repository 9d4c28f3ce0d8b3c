// README line 1 as a newcomer runs it: `tessera start` on the embedded database, sign in with the
// printed password, create a user, stop, start again, and the user is still there; then
// `tessera audit verify` passes on that real history and fails once a row is tampered with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/server.js';
import { runCli, startCli } from '../support/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const env = { TESSERA_DATA_DIR: dataDir, PORT: '0', TESSERA_MASTER_KEY: '' };

/** Stops a started server with SIGTERM: Tessera's handler closes the store and exits 0. */
async function stopped(p: { stop(): Promise<number | null>; output(): string }): Promise<void> {
  const code = await p.stop();
  expect(code, `exit code ${code}; output:\n${p.output()}`).toBe(0);
}

/**
 * Issue 6's "Done when" right after README line 1, up to the card in bob's own reader: the operator
 * binds a demo card to bob and gives him an initial password; in the portal bob has the card handed
 * to a demo agent of his, and sees it there, bound to him, ready to self-issue.
 */
async function demoHandover(admin: ApiClient, url: string): Promise<void> {
  type Card = { agentId: string; reader: string; serial: string | null; status: string };
  const bob = (
    await admin.json<{ items: { id: string; username: string }[] }>('GET', '/api/users?q=bob')
  ).body.items.find((u) => u.username === 'bob')!;
  const policy = (await admin.json<{ items: { id: string }[] }>('GET', '/api/policies')).body.items[0]!;
  const card = (await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards')).body.items[0]!;
  expect(card.status).toBe('blank');
  const bind = await admin.json('POST', '/api/issuance', {
    userId: bob.id,
    agentId: card.agentId,
    reader: card.reader,
    action: 'bind',
    policyId: policy.id,
  });
  expect(bind.status).toBe(202);
  const ip = await admin.json<{ password: string }>('POST', `/api/users/${bob.id}/initial-password`, {});
  const res = await fetch(`${url}/api/portal/auth/initial-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bob', password: ip.body.password }),
  });
  expect(res.status).toBe(200);
  const portal = new ApiClient(url);
  portal.cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  portal.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  expect((await portal.json<{ available: boolean }>('GET', '/api/portal/demo/reader')).body.available).toBe(
    true,
  );
  const handed = await portal.json<{ moved: string[]; agent: { id: string } }>(
    'POST',
    '/api/portal/demo/reader',
  );
  expect(handed.status).toBe(200);
  expect(handed.body.moved).toEqual([card.serial]);
  const mine = await portal.json<{ items: Card[] }>('GET', '/api/portal/cards');
  expect(mine.body.items).toEqual([
    expect.objectContaining({ agentId: handed.body.agent.id, serial: card.serial, status: 'bound' }),
  ]);
}

describe('tessera start', { timeout: 600_000 }, () => {
  it('starts, prints where to go and how to sign in, keeps data across restarts', async () => {
    let password = '';
    const first = startCli(['start'], env);
    try {
      const [, url] = await first.waitFor(/Operator portal\s+(http:\/\/127\.0\.0\.1:\d+)\/operator/);
      password = (await first.waitFor(/Sign in as "admin" with password:\s+(\S+)/))[1]!;
      // The banner is written line by line: read the rest once its last line is out.
      await first.waitFor(/Stop with Ctrl-C/);
      expect(first.output()).toMatch(/demo organisation/);
      expect(first.output()).toMatch(/ivan\.issuer\s+issuance_officer/);
      expect(first.output()).toMatch(/E-mail\s+not configured \(TESSERA_SMTP_URL\)/);
      const api = new ApiClient(url!);
      expect((await api.login('admin', password)).status).toBe(200);
      expect(
        (await api.json('POST', '/api/users', { username: 'kept', displayName: 'Kept Across Restarts' }))
          .status,
      ).toBe(201);
      expect((await api.json<{ total: number }>('GET', '/api/devices?q=DEMO')).body.total).toBeGreaterThan(0);
      await demoHandover(api, url!);
    } finally {
      await stopped(first);
    }

    const second = startCli(['start'], env);
    try {
      const [, url] = await second.waitFor(/Operator portal\s+(http:\/\/127\.0\.0\.1:\d+)\/operator/);
      await second.waitFor(/Stop with Ctrl-C/);
      expect(second.output()).toMatch(/password printed at first start/);
      expect(second.output()).not.toMatch(/demo organisation was created/);
      const api = new ApiClient(url!);
      expect((await api.login('admin', password)).status).toBe(200);
      const kept = await api.json<{ total: number; items: { displayName: string }[] }>(
        'GET',
        '/api/users?q=kept',
      );
      expect(kept.body.items.map((u) => u.displayName)).toEqual(['Kept Across Restarts']);
    } finally {
      await stopped(second);
    }
  });

  it('tessera admin and tessera audit verify work on the real history, and catch tampering', async () => {
    const created = await runCli(
      ['admin', 'create-user', 'eve', '--name', 'Eve', '--role', 'helpdesk', '--password'],
      env,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/Created eve .* helpdesk/);
    expect(created.stdout).toMatch(/Password \(shown once\): \S+/);
    const users = await runCli(['admin', 'create-user', 'eve'], env);
    expect(users.code).toBe(1);
    expect(users.stderr).toMatch(/already taken/);
    const reset = await runCli(['admin', 'reset-password', 'eve'], env);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/New password for eve \(shown once\): \S+/);
    const unknown = await runCli(['admin', 'reset-password', 'nobody'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No user named "nobody" exists/);

    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.stdout).toMatch(/Audit log intact: \d+ event\(s\) checked/);
    expect(ok.code).toBe(0);

    const lite = await PGlite.create(join(dataDir, 'db'));
    const rows = await lite.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE target_type = 'user'",
    );
    expect(rows.rows[0]!.n).toBeGreaterThan(2);
    await lite.query(
      `UPDATE audit_events SET details = '{"roles":["admin"]}' WHERE seq = (SELECT min(seq) + 2 FROM audit_events)`,
    );
    await lite.close();

    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/Audit log BROKEN at event \d+: event \d+ was altered/);
  });

  it('a SIGTERM in the middle of start-up closes cleanly (exit 0), and the next start works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-early-stop-'));
    try {
      const early = startCli(['start'], { ...env, TESSERA_DATA_DIR: dir });
      await early.waitFor(/Starting Tessera/);
      // Still opening the database or starting the demo agents: stop it now.
      await stopped(early);
      expect(early.output()).toContain('SIGTERM: stopping Tessera');
      const again = startCli(['start'], { ...env, TESSERA_DATA_DIR: dir });
      try {
        await again.waitFor(/Stop with Ctrl-C/);
      } finally {
        await stopped(again);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help works everywhere', async () => {
    const all = [
      ['--help'],
      ['start', '--help'],
      ['serve', '--help'],
      ['admin', 'create-user', '--help'],
      ['audit', 'verify', '--help'],
      ['migrate', '--help'],
      ['card', '--help'],
    ];
    const results = await Promise.all(all.map((args) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code, all[i]!.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: tessera/);
    });
  });
});
