// `tessera agent --wallet` when its server hangs (docs/mobile.md "Use at a workstation", 6), with
// real processes: a real `tessera serve` on a PostgreSQL schema of its own, bob's phone (the wallet's
// card application and link client over a real WebSocket), his workstation's agent (the built CLI,
// pinging every second: `--heartbeat 1`) putting the phone into pcscd's vsmartcard reader. The
// server is stopped with SIGSTOP while a signature waits for the phone: its sockets stay open and it
// answers nothing, not even pings. The agent counts the link as lost after three unanswered periods
// and takes the card out of the reader: the signature in flight and one tried afterwards fail while
// the server is still stopped, the reader empty; it keeps trying; the server continues (SIGCONT), the
// agent resumes the kept pairing without a new code, and the next signature verifies with openssl.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, saveIdentity } from '../../src/agent/identity.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { workstationCard } from '../support/card-tools.js';
import { startProcess } from '../support/cli.js';
import { postgresAvailable } from '../support/db.js';
import { acquirePcscd, pcscdMissing, toolMissing, type PcscdLease } from '../support/pcscd.js';
import type { ApiClient } from '../support/server.js';
import { phoneKeyFiles, phoneLink, portalSession, selfIssuedPhone } from '../wallet/support.js';
import { MAIN, startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg
  ? 'no PostgreSQL at 127.0.0.1:5432'
  : (pcscdMissing() ?? toolMissing('pkcs11-tool', 'openssl'));
if (missing) console.warn(`SKIPPED test/cluster/wallet-hang.test.ts: ${missing}`);

const PIN = '135790';
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'g'))?.length ?? 0;

describe.skipIf(missing !== undefined)(
  'the phone at a workstation while the server hangs',
  { timeout: 300_000 },
  () => {
    let srv: TwoServers;
    let admin: ApiClient;
    let lease: PcscdLease;
    let dir: string;
    const links: { close(): void }[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-whang-'));
      srv = await startTwoServers('whang', { only: ['a'] });
      admin = await signIn(srv.url('a'), 'admin', srv.adminPassword);
      const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
      expect((await admin.json('POST', '/api/policies', ecc)).status).toBe(201);
      const bob = await admin.json('POST', '/api/users', {
        username: 'bob',
        displayName: 'Bob Hang',
        roles: ['user'],
      });
      expect(bob.status, JSON.stringify(bob.body)).toBe(201);
      lease = await acquirePcscd();
    }, 300_000);

    afterAll(async () => {
      for (const l of links) l.close();
      await srv?.stop(); // continues a stopped server first
      await lease?.release();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('notices by its pings, empties the reader at once, and resumes the pairing when the server continues', async () => {
      const url = srv.url('a');
      const phone = await selfIssuedPhone(url, admin, 'bob', PIN);
      await phoneKeyFiles(admin, phone.deviceId, dir, 'Signed before and after the server hung\n');
      // The phone allows every key use, unless the test holds its answer (a person still deciding).
      let held: ((allow: boolean) => void) | undefined;
      let asked = 0;
      let hold = false;
      const onPhone = phoneLink(url, phone.card, { token: phone.token }, () => {
        asked += 1;
        return hold ? new Promise<boolean>((resolve) => (held = resolve)) : Promise.resolve(true);
      });
      links.push(onPhone.link);
      await onPhone.link.start();

      const bob = await portalSession(url, admin, 'bob');
      const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
      const stateFile = join(dir, 'agent.json');
      const identity = await pairWithCode(url, code, { name: 'Desk of bob' });
      saveIdentity(stateFile, identity);
      const agent = srv.keep(
        startProcess(
          process.execPath,
          [MAIN, 'agent', '--wallet', '--state', stateFile, '--heartbeat', '1'],
          {
            env: { ...process.env },
          },
        ),
      );
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const asking = await until('the phone asked', async () =>
        onPhone.pairings.at(-1)?.find((p) => p.code === shown && p.state === 'pending'),
      );
      onPhone.link.decidePairing(asking.id, true);
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);

      const { sign, verify, slots } = workstationCard(dir, PIN);
      const signed = async (what: string, out: string) =>
        until(
          what,
          async () => {
            const r = await sign(out);
            return r.code === 0 ? r : undefined;
          },
          60_000,
        );
      await signed('a signature through pcscd', 'before.der');
      expect((await verify('before.der')).output).toContain('Verified OK');
      expect(await slots()).toMatch(/token label/);

      // A signature is in flight (the phone asked, the person not yet answered) when the server
      // hangs: connections stay open, nothing is answered.
      hold = true;
      const before = asked;
      const inFlight = sign('inflight.der');
      await until(
        'the phone asked to allow the key use',
        async () => (asked > before ? true : undefined),
        60_000,
      );
      srv.signal('a', 'SIGSTOP');
      try {
        // The signature in flight fails once the link counts as lost, the server still stopped.
        const failed = await inFlight;
        expect(failed.code, failed.output).not.toBe(0);
        hold = false;
        held?.(false);
        await agent.waitFor(/No answer from the server for 3 s: the connection counts as lost/, 60_000);
        await agent.waitFor(
          /Disconnected from the server: the card is removed from the virtual reader/,
          30_000,
        );
        // While the server is still stopped: the reader is empty and a signature fails (no card);
        // nothing waits for the server.
        await until(
          'the reader empty',
          async () => (/token label/.test(await slots()) ? undefined : true),
          30_000,
        );
        const during = await sign('during.der');
        expect(during.code, during.output).not.toBe(0);
        // It keeps trying: a connection to the stopped server gets no answer either.
        await agent.waitFor(/Could not connect[^\n]*\n[^\n]*Retrying in/, 60_000);
      } finally {
        srv.signal('a', 'SIGCONT');
      }

      // The server continues: the agent resumes the kept pairing (no new code) and signs again.
      await agent.waitFor(/Reconnected: the pairing with your phone is resumed/, 90_000);
      await until(
        'the card back in the virtual reader',
        () => count(agent.output(), /Your phone is the card in the virtual reader/) >= 2 || undefined,
        60_000,
      );
      await signed('a signature after the server continued', 'after.der');
      expect((await verify('after.der')).output).toContain('Verified OK');
      expect(count(agent.output(), /shows the code/)).toBe(1);
      expect(agent.output()).not.toContain(PIN);
      expect(agent.output()).not.toContain(identity.token);
      expect(await agent.stop()).toBe(0);
    });
  },
);
