// A revoked agent stops for good, whichever server revoked it (issue #20; docs/agent.md
// "Revocation", docs/mobile.md "Use at a workstation"), with real processes: two `tessera serve` on
// one PostgreSQL schema, the agents (the built CLI) connected to server A, the operator revoking
// through server B only.
//  - `tessera agent` (emulated cards) revoked while connected: A closes its socket at once (the
//    revocation is said on the bus), the agent says its token was refused and to pair again, exit 1;
//    revoked while A is down: on reconnecting it is refused (HTTP 401) and stops, no more retries;
//  - `tessera agent --wallet` (bob's phone on B, the card in pcscd's vsmartcard reader) revoked
//    while connected: A closes its relay (4001), the card leaves the reader, the agent stops saying
//    why, forgets the pairing, and the phone (on B) is told the pairing ended; revoked while A is
//    down: refused on reconnecting, the same;
//  - the phone (on B) revoked through A: B closes its link (4001), the pairing ends, and the
//    workstation agent on A removes the card and stops.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairWithCode, saveIdentity, type AgentIdentity } from '../../src/agent/identity.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { signIn, until } from '../agent/support.js';
import { OPENSC_PKCS11, runTool } from '../support/card-tools.js';
import { startProcess, type RunningCli } from '../support/cli.js';
import { postgresAvailable } from '../support/db.js';
import { acquirePcscd, pcscdMissing, toolMissing, type PcscdLease } from '../support/pcscd.js';
import type { ApiClient } from '../support/server.js';
import { newWalletCard, phoneLink, portalSession } from '../wallet/support.js';
import { MAIN, startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg ? 'no PostgreSQL at 127.0.0.1:5432' : (pcscdMissing() ?? toolMissing('pkcs11-tool'));
if (missing) console.warn(`SKIPPED test/cluster/agent-revoked.test.ts: ${missing}`);

const REFUSED =
  /Stopped: the server refused this agent's token \(([^)]*)\): it was revoked or is not paired\. Pair it again with a new code from the portal's Agents page: tessera agent --server \S+ --pair CODE/;

describe.skipIf(missing !== undefined)('a revoked agent across two servers', { timeout: 300_000 }, () => {
  let two: TwoServers;
  let onB: ApiClient;
  let bob: ApiClient;
  let dir: string;
  let lease: PcscdLease | undefined;
  const links: { close(): void }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-arev-'));
    two = await startTwoServers('arev');
    onB = await signIn(two.url('b'), 'admin', two.adminPassword);
    // A policy for phones: a wallet links only when one exists.
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    expect((await onB.json('POST', '/api/policies', ecc)).status).toBe(201);
    const r = await onB.json('POST', '/api/users', {
      username: 'bob',
      displayName: 'Bob Revoked',
      roles: ['user'],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    bob = await portalSession(two.url('b'), onB, 'bob');
  }, 300_000);

  afterAll(async () => {
    for (const l of links) l.close();
    await two?.stop();
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Bob's workstation agent, paired with a code made on B, its identity naming server A. */
  const pairedOnA = async (name: string): Promise<{ identity: AgentIdentity; stateFile: string }> => {
    const code = (await bob.json<{ code: string }>('POST', '/api/agents/pairing-codes', {})).body.code;
    const identity = await pairWithCode(two.url('a'), code, { name });
    const stateFile = join(dir, `${name.replace(/\W/g, '-')}.json`);
    saveIdentity(stateFile, identity);
    return { identity, stateFile };
  };
  const run = (stateFile: string, ...args: string[]): RunningCli =>
    two.keep(
      startProcess(process.execPath, [MAIN, 'agent', '--state', stateFile, ...args], {
        env: { ...process.env },
      }),
    );
  const revokeOnB = async (agentId: string) => {
    const r = await onB.json<{ connected: boolean }>('POST', `/api/agents/${agentId}/revoke`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  /** Nothing the agent printed after it stopped: no retry, no reconnection. */
  const endsWithStop = (agent: RunningCli) =>
    expect(agent.output().split(REFUSED)[2] ?? '').not.toMatch(/[Rr]etrying|Connected to|Reconnected/);

  it('tessera agent revoked on B while connected to A stops at once, saying its token was refused', async () => {
    const { identity, stateFile } = await pairedOnA('Desk one');
    const agent = run(stateFile, '--readers', 'memory', '--emulate', '1');
    await agent.waitFor(/Connected to \S+ as "Desk one"/, 60_000);
    await until('B lists the agent as connected', async () =>
      (
        await onB.json<{ items: { id: string; connected: boolean }[] }>('GET', '/api/agents?all=true')
      ).body.items.some((a) => a.id === identity.agentId && a.connected),
    );
    await revokeOnB(identity.agentId);
    const [, why] = await agent.waitFor(REFUSED, 30_000);
    expect(why).toBe('the agent was revoked');
    expect(await agent.stop()).toBe(1);
    endsWithStop(agent);
    expect(agent.output()).not.toContain(identity.token);
  });

  it('tessera agent revoked on B while A is down is refused on reconnecting and stops', async () => {
    const { identity, stateFile } = await pairedOnA('Desk two');
    const agent = run(stateFile, '--readers', 'memory', '--emulate', '1');
    await agent.waitFor(/Connected to \S+ as "Desk two"/, 60_000);
    await two.restart('a', async () => {
      await agent.waitFor(/Disconnected \(\d+[^)]*\); retrying in/, 30_000);
      await revokeOnB(identity.agentId);
    });
    const [, why] = await agent.waitFor(REFUSED, 60_000);
    expect(why).toBe('HTTP 401');
    expect(await agent.stop()).toBe(1);
    endsWithStop(agent);
  });

  describe('tessera agent --wallet', () => {
    let phone: ReturnType<typeof phoneLink>;
    let phoneId: string;

    beforeAll(async () => {
      // Bob's phone (a blank wallet is enough to pair with), connected to B.
      const code = (await bob.json<{ code: string }>('POST', '/api/wallet/links', {})).body.code;
      phone = phoneLink(two.url('b'), await newWalletCard(), { code }, async () => true);
      links.push(phone.link);
      phoneId = (await phone.link.start()).walletId;
      lease = await acquirePcscd();
    }, 300_000);

    const slots = async () =>
      (await runTool('pkcs11-tool', ['--module', OPENSC_PKCS11, '-L'], { cwd: dir, timeoutMs: 30_000 }))
        .output;
    /** The workstation agent on A, paired with the phone on B (allowed there), its card in the reader. */
    const walletAgent = async (name: string) => {
      const { identity, stateFile } = await pairedOnA(name);
      const agent = run(stateFile, '--wallet');
      const shown = (await agent.waitFor(/shows the code (\d{3}) (\d{3})/, 60_000)).slice(1).join('');
      const asking = await until('the phone asked', async () =>
        phone.pairings.at(-1)?.find((p) => p.code === shown && p.state === 'pending'),
      );
      phone.link.decidePairing(asking.id, true);
      await agent.waitFor(/Your phone is the card in the virtual reader/, 60_000);
      await until(
        'the card in the reader',
        async () => (/token label|token state/i.test(await slots()) ? true : undefined),
        30_000,
      );
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(true);
      return { identity, stateFile, agent, pairingId: asking.id };
    };
    const pairingEnded = async (pairingId: string) => {
      await until('the phone told the pairing ended', async () =>
        phone.pairings.at(-1)?.every((p) => p.id !== pairingId) ? true : undefined,
      );
      const row = await two.sql.query<{ state: string; ended_by: string }>(
        'SELECT state, ended_by FROM wallet_pairings WHERE id = $1',
        [pairingId],
      );
      expect(row.rows[0]).toEqual({ state: 'revoked', ended_by: 'server' });
    };

    it('revoked on B while connected to A: the relay closes, the card leaves, the agent stops and forgets the pairing', async () => {
      const { identity, stateFile, agent, pairingId } = await walletAgent('Desk three');
      await revokeOnB(identity.agentId);
      const [, why] = await agent.waitFor(REFUSED, 30_000);
      expect(why).toBe('the agent was revoked');
      expect(agent.output()).toMatch(/--pair CODE, then tessera agent --wallet/);
      expect(await agent.stop()).toBe(1);
      endsWithStop(agent);
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(false);
      expect(await slots()).not.toMatch(/token label/);
      await pairingEnded(pairingId);
      expect(agent.output()).not.toContain(identity.token);
    });

    it('revoked on B while A is down: refused on reconnecting, it stops and forgets the pairing', async () => {
      const { identity, stateFile, agent, pairingId } = await walletAgent('Desk four');
      await two.restart('a', async () => {
        await agent.waitFor(
          /Disconnected from the server: the card is removed from the virtual reader/,
          30_000,
        );
        await revokeOnB(identity.agentId);
        await pairingEnded(pairingId);
      });
      const [, why] = await agent.waitFor(REFUSED, 60_000);
      expect(why).toBe('HTTP 401');
      expect(await agent.stop()).toBe(1);
      endsWithStop(agent);
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(false);
      expect(agent.output()).not.toMatch(/Reconnected/);
    });
    it('the phone revoked through A while it is on B: B closes its link, the workstation agent on A is told and stops', async () => {
      const { stateFile, agent } = await walletAgent('Desk five');
      const onA = await signIn(two.url('a'), 'admin', two.adminPassword);
      expect((await onA.json('POST', `/api/agents/${phoneId}/revoke`, {})).status).toBe(200);
      await until('the phone link closed by B (revoked)', async () =>
        phone.closes.some((c) => c.code === 4001) ? true : undefined,
      );
      await agent.waitFor(
        /The pairing with your phone has ended \(ended by the server\): the card is removed/,
        30_000,
      );
      expect(await agent.stop()).toBe(0);
      expect(existsSync(`${stateFile}.wallet-pairing`)).toBe(false);
      expect(await slots()).not.toMatch(/token label/);
    });
  });
});
