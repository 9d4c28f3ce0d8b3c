// A real `tessera agent` process with emulated cards whose serials the operator chose
// (--readers memory --emulate N --serial S): the operator registers the serial in the inventory
// first, the agent pairs with a code, and its reader shows that card, which binds like any other.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEmulation } from '../../src/cli/agent-commands.js';
import { runCli, startCli, type RunningCli } from '../support/cli.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { newCode, signIn, until } from './support.js';

type Card = {
  agentId: string;
  agentName: string;
  reader: string;
  serial: string | null;
  status: string;
  device: { id: string; state: string; userId: string | null } | null;
};

describe('tessera agent --readers memory --serial', () => {
  let server: TestServer;
  let admin: ApiClient;
  let dir: string;
  let agent: RunningCli | undefined;

  beforeAll(async () => {
    server = await startTestServer({ demo: true });
    admin = await signIn(server.url, server.admin.username, server.admin.password);
    dir = mkdtempSync(join(tmpdir(), 'tessera-agent-mem-'));
  });
  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pairs, and its emulated reader holds the card with the serial the operator registered', async () => {
    const created = await admin.json<{ id: string }>('POST', '/api/devices', {
      serial: '10000099',
      type: 'piv_token',
    });
    expect(created.status).toBe(201);
    const code = await newCode(admin);
    agent = startCli([
      'agent',
      '--server',
      server.url,
      '--pair',
      code,
      '--name',
      'Emulated desk',
      '--state',
      join(dir, 'agent.json'),
      '--readers',
      'memory',
      '--emulate',
      '1',
      '--serial',
      '10000099',
      '--card-dir',
      join(dir, 'cards'),
    ]);
    await agent.waitFor(/Emulated card 10000099 in "Tessera Emulated Reader 0"/, 60_000);
    await agent.waitFor(/Connected to .* as "Emulated desk"/, 60_000);
    // The card's state is kept per serial, so it follows the serial across runs.
    expect(existsSync(join(dir, 'cards', '10000099.json'))).toBe(true);
    const card = await until('the emulated card in the operator API', async () => {
      const r = await admin.json<{ items: Card[] }>('GET', '/api/issuance/cards');
      return r.body.items.find((c) => c.agentName === 'Emulated desk' && c.serial !== null);
    });
    expect(card).toMatchObject({
      reader: 'Tessera Emulated Reader 0',
      serial: '10000099',
      status: 'blank',
      device: { id: created.body.id, state: 'inventory' },
    });
    // …and it binds like any inventory card.
    const users = await admin.json<{ items: { id: string; username: string }[] }>(
      'GET',
      '/api/users?q=carol',
    );
    const carol = users.body.items.find((u) => u.username === 'carol')!;
    const policies = await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies');
    const bind = await admin.json<{ device: { serial: string; state: string; userId: string } }>(
      'POST',
      '/api/issuance',
      {
        userId: carol.id,
        agentId: card.agentId,
        reader: card.reader,
        action: 'bind',
        policyId: policies.body.items[0]!.id,
      },
    );
    expect(bind.status).toBe(202);
    expect(bind.body.device).toMatchObject({ serial: '10000099', state: 'bound', userId: carol.id });
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  }, 120_000);

  it('refuses bad --serial values before pairing, saying what to do', async () => {
    const bad =
      (serial: string, emulate = '2') =>
      () =>
        parseEmulation({ readers: 'memory', emulate, serial });
    expect(bad('10000099,abc')).toThrow(/"abc" is not one/);
    expect(bad('-5')).toThrow(/decimal numbers from 1 to 4294967295/);
    expect(bad('4294967296')).toThrow(/not one/);
    expect(bad('1.5')).toThrow(/not one/);
    expect(bad('7,7')).toThrow(/names 7 twice/);
    expect(bad('1,2,3')).toThrow(/--emulate 2 makes only 2 card\(s\): raise --emulate to 3/);
    expect(() => parseEmulation({ readers: 'pcsc', serial: '1' })).toThrow(/--readers memory/);
    expect(parseEmulation({ readers: 'memory', emulate: '3', serial: '10000099, 10000100' })).toEqual({
      count: 3,
      serials: [10000099, 10000100],
    });
    // The real command stops with the message and exit code 1, and never reaches the server (port 9).
    const r = await runCli([
      'agent',
      '--server',
      'http://127.0.0.1:9',
      '--pair',
      'AAAAAAAA',
      '--state',
      join(dir, 'never.json'),
      '--readers',
      'memory',
      '--emulate',
      '1',
      '--serial',
      '10000099,10000100',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--serial names 2 serials but --emulate 1 makes only 1 card/);
    expect(r.stdout).not.toMatch(/Pairing/);
  }, 120_000);
});
