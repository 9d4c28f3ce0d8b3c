// `tessera agent --wallet` outlives its server (docs/mobile.md "Use at a workstation"), with real
// processes: a real `tessera serve` on a PostgreSQL schema of its own, bob's phone (the wallet's card
// application and link client over a real WebSocket), and his workstation's agent putting the phone
// into pcscd's vsmartcard reader. pkcs11-tool signs and openssl verifies; then the server is killed:
// the agent says so, removes the card (a signature tried meanwhile fails at once, nothing hangs) and
// retries with back-off; the server restarts on the same database, the phone comes back, the agent
// resumes the kept pairing without asking the phone again and the next signature verifies; Unpair on
// the phone still ends the agent for good.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, saveIdentity } from '../../src/agent/identity.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { workstationCard } from '../support/card-tools.js';
import { startProcess, type RunningCli } from '../support/cli.js';
import { postgresAvailable } from '../support/db.js';
import { acquirePcscd, pcscdMissing, toolMissing, type PcscdLease } from '../support/pcscd.js';
import type { ApiClient } from '../support/server.js';
import { phoneKeyFiles, phoneLink, portalSession, selfIssuedPhone } from '../wallet/support.js';
import { MAIN, startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg
  ? 'no PostgreSQL at 127.0.0.1:5432'
  : (pcscdMissing() ?? toolMissing('pkcs11-tool', 'openssl'));
if (missing) console.warn(`SKIPPED test/cluster/wallet-reconnect.test.ts: ${missing}`);

const PIN = '135790';
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'g'))?.length ?? 0;

describe.skipIf(missing !== undefined)(
  'the phone at a workstation across a server restart',
  { timeout: 600_000 },
  () => {
    let srv: TwoServers;
    let admin: ApiClient;
    let lease: PcscdLease;
    let dir: string;
    const links: { close(): void }[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-wrc-'));
      srv = await startTwoServers('wrc', { only: ['a'] });
      admin = await signIn(srv.url('a'), 'admin', srv.adminPassword);
      const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
      expect((await admin.json('POST', '/api/policies', ecc)).status).toBe(201);
      const bob = await admin.json('POST', '/api/users', {
        username: 'bob',
        displayName: 'Bob Restart',
        roles: ['user'],
      });
      expect(bob.status, JSON.stringify(bob.body)).toBe(201);
      lease = await acquirePcscd();
    }, 300_000);

    afterAll(async () => {
      for (const l of links) l.close();
      await srv?.stop();
      await lease?.release();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reconnects with back-off, resumes the pairing without asking again, signs again, and still ends on Unpair', async () => {
      const url = srv.url('a');
      const phone = await selfIssuedPhone(url, admin, 'bob', PIN);
      await phoneKeyFiles(admin, phone.deviceId, dir, 'Signed before and after the server restarted\n');
      const asked: string[] = [];
      const connectPhone = async () => {
        const p = phoneLink(url, phone.card, { token: phone.token }, async (r) => {
          asked.push(`${r.by}:${r.slot}`);
          return true;
        });
        links.push(p.link);
        await p.link.start();
        return p;
      };
      let onPhone = await connectPhone();

      const bob = await portalSession(url, admin, 'bob');
      const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
      const stateFile = join(dir, 'agent.json');
      const identity = await pairWithCode(url, code, { name: 'Desk of bob' });
      saveIdentity(stateFile, identity);
      const agent: RunningCli = srv.keep(
        startProcess(process.execPath, [MAIN, 'agent', '--wallet', '--state', stateFile], {
          env: { ...process.env },
        }),
      );
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const asking = await until('the phone asked', async () =>
        onPhone.pairings.at(-1)?.find((p) => p.code === shown && p.state === 'pending'),
      );
      onPhone.link.decidePairing(asking.id, true);
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);

      const { sign, verify } = workstationCard(dir, PIN);
      const signedBefore = await until(
        'a signature through pcscd',
        async () => {
          const r = await sign('before.der');
          return r.code === 0 ? r : undefined;
        },
        60_000,
      );
      expect(signedBefore.code).toBe(0);
      expect((await verify('before.der')).output).toContain('Verified OK');

      // The server dies. The agent says so, removes the card and retries with back-off; a signature
      // tried now fails promptly (no card), it does not wait for the server.
      await srv.restart('a', async () => {
        await agent.waitFor(
          /Disconnected from the server: the card is removed from the virtual reader/,
          30_000,
        );
        await agent.waitFor(/Retrying in \d+\.\d s/, 30_000);
        const t0 = Date.now();
        const during = await sign('during.der');
        expect(during.code, during.output).not.toBe(0);
        expect(Date.now() - t0).toBeLessThan(30_000);
        await agent.waitFor(/Could not connect[^\n]*\n[^\n]*Retrying in/, 30_000);
      });

      // The server is back on the same database, before the phone: the agent's relay is accepted but
      // the phone cannot be reached, so it keeps trying; the phone reconnects; the agent resumes.
      await agent.waitFor(/Your phone cannot be reached/, 90_000);
      onPhone = await connectPhone();
      await agent.waitFor(/Reconnected: the pairing with your phone is resumed/, 90_000);
      await until(
        'the card back in the virtual reader',
        () => count(agent.output(), /Your phone is the card in the virtual reader/) >= 2 || undefined,
        60_000,
      );
      const before = asked.length;
      const signedAfter = await until(
        'a signature after the restart',
        async () => {
          const r = await sign('after.der');
          return r.code === 0 ? r : undefined;
        },
        60_000,
      );
      expect(signedAfter.code).toBe(0);
      expect((await verify('after.der')).output).toContain('Verified OK');
      expect(asked.slice(before)).toContain('Desk of bob:9A');
      // Never asked to pair again, and no secret in what the agent printed.
      expect(count(agent.output(), /shows the code/)).toBe(1);
      expect(agent.output()).not.toContain(PIN);
      expect(agent.output()).not.toContain(phone.token);
      expect(agent.output()).not.toContain(identity.token);

      // Unpair on the phone still ends it for good, saying why.
      onPhone.link.unpair(asking.id);
      await agent.waitFor(/The pairing with your phone has ended \(unpaired on the phone\)/, 30_000);
      expect(await agent.stop()).toBe(0);
      expect(agent.output()).not.toMatch(/Retrying in[^\n]*\n[^\n]*$/);
    });
  },
);

// The pairing ended while the agent's server was down: with two servers the phone (on B) unpairs
// while A restarts; the agent (on A) learns it when it resumes and stops for good, saying why.
describe.skipIf(missing !== undefined)(
  'the phone unpairs while the workstation’s server is down',
  { timeout: 600_000 },
  () => {
    let two: TwoServers;
    let admin: ApiClient;
    let lease: PcscdLease;
    let dir: string;
    const links: { close(): void }[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-wrc2-'));
      two = await startTwoServers('wrc2');
      admin = await signIn(two.url('b'), 'admin', two.adminPassword);
      const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
      expect((await admin.json('POST', '/api/policies', ecc)).status).toBe(201);
      const bob = await admin.json('POST', '/api/users', {
        username: 'bob',
        displayName: 'Bob Away',
        roles: ['user'],
      });
      expect(bob.status, JSON.stringify(bob.body)).toBe(201);
      lease = await acquirePcscd();
    }, 300_000);

    afterAll(async () => {
      for (const l of links) l.close();
      await two?.stop();
      await lease?.release();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('stops for good on reconnecting, and forgets the pairing', async () => {
      const phone = await selfIssuedPhone(two.url('b'), admin, 'bob', PIN);
      const onPhone = phoneLink(two.url('b'), phone.card, { token: phone.token }, async () => true);
      links.push(onPhone.link);
      await onPhone.link.start();
      const bob = await portalSession(two.url('b'), admin, 'bob');
      const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
      const stateFile = join(dir, 'agent.json');
      saveIdentity(stateFile, await pairWithCode(two.url('a'), code, { name: 'Desk of bob' }));
      const agent = two.keep(
        startProcess(process.execPath, [MAIN, 'agent', '--wallet', '--state', stateFile], {
          env: { ...process.env },
        }),
      );
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const asking = await until('the phone asked', async () =>
        onPhone.pairings.at(-1)?.find((p) => p.code === shown && p.state === 'pending'),
      );
      onPhone.link.decidePairing(asking.id, true);
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(true);

      await two.restart('a', async () => {
        await agent.waitFor(/Disconnected from the server/, 30_000);
        onPhone.link.unpair(asking.id);
        await until('the phone told the pairing ended', async () =>
          onPhone.pairings.at(-1)?.every((p) => p.id !== asking.id) ? true : undefined,
        );
      });
      await agent.waitFor(
        /Stopped: the pairing with your phone ended while the server was out of reach/,
        60_000,
      );
      expect(await agent.stop()).toBe(0);
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(false);
      expect(agent.output()).not.toMatch(/Reconnected/);
    });
  },
);
