// The agent path for real: the `tessera agent` process pairs with a code, watches pcscd, and the
// server runs PIV commands on a virtual card that sits in pcscd's vsmartcard reader, every APDU
// going server → WebSocket → agent → pcsc-lite → pcscd → vpcd → card and back.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { pcscAvailable } from '../../src/cards/transport/pcsc.js';
import { insertVirtualCard, VIRTUAL_READER, type InsertedCard } from '../support/card-emulator.js';
import { startCli, type RunningCli } from '../support/cli.js';
import { acquirePcscd, pcscdMissing, type PcscdLease } from '../support/pcscd.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { newCode, signIn, until } from './support.js';

const missing =
  pcscdMissing() ?? (pcscAvailable() ? undefined : 'the pcsclite addon is not built (npm rebuild pcsclite)');
if (missing) console.warn(`\n*** SKIPPING the tessera agent + pcscd test: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('tessera agent --readers pcsc (pcscd + vpcd)', () => {
  let lease: PcscdLease;
  let server: TestServer;
  let admin: ApiClient;
  let adminId: string;
  let dir: string;
  let agent: RunningCli | undefined;
  let inserted: InsertedCard | undefined;

  beforeAll(async () => {
    lease = await acquirePcscd();
    server = await startTestServer({ demo: true });
    admin = await signIn(server.url, server.admin.username, server.admin.password);
    adminId = (await admin.json<{ user: { id: string } }>('GET', '/api/auth/session')).body.user.id;
    dir = mkdtempSync(join(tmpdir(), 'tessera-agent-'));
  });

  afterAll(async () => {
    await agent?.stop();
    await inserted?.remove();
    await server?.close();
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stateFile = () => join(dir, 'agent.json');
  const vpcdReader = async () =>
    (await server.rt.cardAccess.listReaders(adminId)).find((r) => r.reader === VIRTUAL_READER);

  it('pairs, reports the vpcd reader, and relays a PIV session to the card', async () => {
    const code = await newCode(admin);
    agent = startCli([
      'agent',
      '--server',
      server.url,
      '--pair',
      code,
      '--name',
      'PC/SC desk',
      '--state',
      stateFile(),
    ]);
    await agent.waitFor(/Paired as "PC\/SC desk"/, 60_000);
    expect(statSync(stateFile()).mode & 0o777).toBe(0o600);
    await agent.waitFor(/Connected to .* as "PC\/SC desk"/, 30_000);
    await until('the vpcd reader', vpcdReader, 15_000);

    inserted = await insertVirtualCard();
    await agent.waitFor(/Card inserted in "Virtual PCD 00 00"/, 15_000);
    const r = await until(
      'card in the vpcd reader',
      async () => ((await vpcdReader())?.cardPresent ? await vpcdReader() : undefined),
      15_000,
    );
    expect(r!.agentName).toBe('PC/SC desk');

    const conn = await server.rt.cardAccess.connect(adminId, r!.agentId, VIRTUAL_READER);
    try {
      const piv = await PivSession.open(conn);
      expect(await piv.getSerial()).toEqual({ serial: String(inserted.card.serial), source: 'yubico' });
      await piv.authenticate();
      const { publicKey } = await piv.generateKey(SLOT.SIGNATURE, ALGORITHM.ECC_P256);
      expect(publicKey.asymmetricKeyType).toBe('ec');
      expect(inserted.card.snapshot().keys['9c']).toBeDefined();
    } finally {
      await conn.close?.();
    }

    await inserted.remove();
    inserted = undefined;
    await agent.waitFor(/Card removed from "Virtual PCD 00 00"/, 15_000);
    await until('card gone', async () => (await vpcdReader())?.cardPresent === false, 15_000);
  });

  it('issues a whole card through the agent, and yubico-piv-tool then shows its certificates', async () => {
    inserted = await insertVirtualCard();
    const r = await until(
      'card in the vpcd reader',
      async () => ((await vpcdReader())?.cardPresent ? await vpcdReader() : undefined),
      15_000,
    );
    const alice = (await admin.json<{ items: { id: string }[] }>('GET', '/api/users?q=alice')).body.items[0]!;
    const policy = (
      await admin.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
    ).body.items.find((p) => p.name.includes('ECC'))!;
    const started = await admin.json<{ job: { id: string } }>('POST', '/api/issuance', {
      userId: alice.id,
      agentId: r!.agentId,
      reader: VIRTUAL_READER,
      action: 'issue',
      policyId: policy.id,
      pin: '482913',
      pinConfirmation: '482913',
    });
    expect(started.status).toBe(202);
    const job = await until(
      'the issuance to end',
      async () => {
        const j = (
          await admin.json<{ status: string; error: unknown }>(
            'GET',
            `/api/issuance/jobs/${started.body.job.id}`,
          )
        ).body;
        return j.status === 'running' ? undefined : j;
      },
      120_000,
    );
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    // A tool we did not write reads the personalized card through pcscd, run asynchronously:
    // the virtual card answers from this very process.
    const status = await promisify(execFile)('yubico-piv-tool', ['-r', 'Virtual', '-a', 'status'], {
      timeout: 60_000,
    });
    for (const slot of ['9a', '9c', '9e']) expect(status.stdout).toMatch(new RegExp(`Slot ${slot}:`, 'i'));
    expect(status.stdout).toMatch(/Subject DN:.*Alice/);
    await inserted.remove();
    inserted = undefined;
  });

  it('runs again from the saved identity and stops cleanly on SIGTERM', async () => {
    expect(await agent!.stop()).toBe(0);
    expect(agent!.output()).toMatch(/Agent stopped/);
    agent = startCli(['agent', '--server', server.url, '--state', stateFile()]);
    await agent.waitFor(/Connected to .* as "PC\/SC desk"/, 60_000);
    await until('the vpcd reader again', vpcdReader, 15_000);
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  });
});
