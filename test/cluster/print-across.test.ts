// Printing across servers (issue #20 with reference 002), with real processes: two `tessera serve`
// on one PostgreSQL schema; a real `tessera agent` (emulated cards in the encoders of two printers,
// both on one ippeveprinter) connected to server A; a client that talks only to server B:
//  1. issues a card with the print step: the job runs on A, the card is printed through A's agent,
//     and the document ippeveprinter received is byte for byte the one B shows; Continue on B;
//  2. a print that failed (the printer went away) is retried through B, print only: queued for A,
//     printed once the printer is back, without the card;
//  3. a sample card printed through B reaches the printer through A, one carrying a photo near the
//     limit too (its PDF crosses between the servers in parts).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { newCode, signIn, until } from '../agent/support.js';
import { startProcess } from '../support/cli.js';
import { postgresAvailable } from '../support/db.js';
import { makePng } from '../support/images.js';
import { ippeveAvailable, startIppEvePrinter, stopAvahi, type IppEvePrinter } from '../support/printers.js';
import type { ApiClient } from '../support/server.js';
import { MAIN, startTwoServers, type TwoServers } from './serve-two.js';

const pg = await postgresAvailable();
const missing = !pg ? 'no PostgreSQL at 127.0.0.1:5432' : !ippeveAvailable ? 'no ippeveprinter' : undefined;
if (missing) console.warn(`SKIPPED test/cluster/print-across.test.ts: ${missing}`);

type Job = {
  id: string;
  deviceId: string;
  status: string;
  error: { code: string; message: string } | null;
  print: { printerId: string; encoded: boolean; printJobId: number | null } | null;
};
type Printer = { id: string; name: string; encoder: string | null; agentName: string };

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PIN = '482913';

describe.skipIf(missing !== undefined)('printing across two servers', { timeout: 600_000 }, () => {
  let two: TwoServers;
  let eve: IppEvePrinter;
  let onB: ApiClient;
  let aliceId: string;
  let policyId: string;
  let layoutId: string;
  let printers: Printer[];

  beforeAll(async () => {
    eve = await startIppEvePrinter('Tessera Cluster Printer');
    two = await startTwoServers('prx');
    onB = await signIn(two.url('b'), 'admin', two.adminPassword);
    // `tessera serve` seeds no demo: the ECC policy, a layout and printing turned on, through B.
    const alice = await onB.json<{ id: string }>('POST', '/api/users', {
      username: 'alice.print',
      displayName: 'Alice Print',
      roles: ['user'],
      properties: { employeeId: 'C-2001', affiliation: 'Employee' },
    });
    expect(alice.status, JSON.stringify(alice.body)).toBe(201);
    aliceId = alice.body.id;
    const ecc = DEMO_POLICIES.find((p) => p.name.startsWith('PIV ECC'))!;
    policyId = (await onB.json<{ id: string }>('POST', '/api/policies', ecc)).body.id;
    const piv = (
      await onB.json<{ items: { id: string; name: string; description: string; definition: unknown }[] }>(
        'GET',
        '/api/layouts/templates',
      )
    ).body.items.find((t) => t.id === 'piv')!;
    const layout = await onB.json<{ id: string }>('POST', '/api/layouts', {
      name: piv.name,
      description: piv.description,
      definition: piv.definition,
    });
    expect(layout.status, JSON.stringify(layout.body)).toBe(201);
    layoutId = layout.body.id;
    const on = await onB.json('PUT', '/api/settings/printing', {
      enabled: true,
      issuerName: 'Cluster Agency',
    });
    expect(on.status).toBe(200);
    // The agent pairs with a code made on B and connects to A, its encoders holding blank cards.
    const agent = two.keep(
      startProcess(
        process.execPath,
        [
          MAIN,
          'agent',
          ...['--server', two.url('a'), '--pair', await newCode(onB), '--name', 'Badge desk at A'],
          ...['--state', join(two.dir, 'agent.json'), '--readers', 'memory'],
          ...['--emulate', '2', '--serial', '53000001,53000002'],
          ...['--printer', `Eve=${eve.uri}`, '--printer', `Eve too=${eve.uri}`],
          ...['--encoder', 'Eve=Tessera Emulated Reader 0', '--encoder', 'Eve too=Tessera Emulated Reader 1'],
        ],
        { env: { ...process.env } },
      ),
    );
    await agent.waitFor(/Connected to .* as "Badge desk at A"/, 120_000);
    printers = await until(
      'B lists the printers of the agent on A',
      async () => {
        const v = (await onB.json<{ available: boolean; items: Printer[] }>('GET', '/api/printers')).body;
        return v.available && v.items.length === 2 ? v.items : undefined;
      },
      60_000,
    );
  }, 300_000);

  afterAll(async () => {
    await two?.stop();
    await eve?.stop();
    stopAvahi();
  });

  const printerNamed = (name: string) => printers.find((p) => p.name === name)!;
  const job = async (id: string) => (await onB.json<Job>('GET', `/api/issuance/jobs/${id}`)).body;
  const settled = (id: string) =>
    until(
      `job ${id} to leave running`,
      async () => {
        const j = await job(id);
        return j.status === 'running' ? undefined : j;
      },
      120_000,
    );
  const printedOnB = async (jobId: string) =>
    Buffer.from(await (await onB.call('GET', `/api/issuance/jobs/${jobId}/print`)).arrayBuffer());
  const owner = async (jobId: string) =>
    (
      await two.sql.query<{ name: string }>(
        `SELECT i.name FROM issuance_jobs j JOIN server_instances i ON i.id = j.owner_instance WHERE j.id = $1`,
        [jobId],
      )
    ).rows[0]?.name;
  const start = async (printer: Printer, serial: string) => {
    const card = await until('B lists the card', async () =>
      (
        await onB.json<{ items: { agentId: string; reader: string; serial: string | null }[] }>(
          'GET',
          '/api/issuance/cards',
        )
      ).body.items.find((c) => c.serial === serial),
    );
    expect(card.reader).toBe(printer.encoder);
    const r = await onB.json<{ job: Job }>('POST', '/api/issuance', {
      userId: aliceId,
      agentId: card.agentId,
      reader: card.reader,
      action: 'issue',
      policyId,
      pin: PIN,
      pinConfirmation: PIN,
      printerId: printer.id,
      layoutId,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body.job;
  };

  it('a card issued through B is printed by the agent on A; ippeveprinter got what B shows', async () => {
    const eveP = printerNamed('Eve');
    const started = await start(eveP, '53000001');
    const j = await settled(started.id);
    expect(j.error).toBeNull();
    expect(j.status).toBe('awaiting_confirmation');
    expect(j.print).toMatchObject({ printerId: eveP.id, encoded: true });
    expect(await owner(j.id)).toBe('server-a');
    const received = eve.jobs();
    expect(received).toHaveLength(1);
    expect(sha(received[0]!)).toBe(sha(await printedOnB(j.id)));
    const c = await onB.json<Job>('POST', `/api/issuance/jobs/${j.id}/print/continue`, {});
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    expect(c.body.status).toBe('succeeded');
  });

  it('a failed print is retried through B, print only, on A once the printer is back', async () => {
    eve.kill();
    const started = await start(printerNamed('Eve too'), '53000002');
    const failed = await settled(started.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message, JSON.stringify(failed.error)).toMatch(/cannot be reached/);
    expect(failed.print?.encoded).toBe(true);
    await eve.restart();
    const before = eve.jobs().map(sha);
    const r = await onB.json<Job>('POST', `/api/issuance/jobs/${failed.id}/retry`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const again = await settled(failed.id);
    expect(again.error).toBeNull();
    expect(again.status).toBe('awaiting_confirmation');
    expect(await owner(failed.id)).toBe('server-a');
    const now = eve.jobs().map(sha);
    expect(now.length).toBe(before.length + 1);
    expect(now).toContain(sha(await printedOnB(failed.id)));
    const c = await onB.json<Job>('POST', `/api/issuance/jobs/${failed.id}/print/continue`, {});
    expect(c.body.status).toBe('succeeded');
  });

  it('a sample card printed through B reaches the printer through A, a photo near the limit too', async () => {
    const sample = async (userId?: string) => {
      const before = eve.jobs().map(sha);
      const r = await onB.json<{ jobId: number; state: string }>('POST', `/api/layouts/${layoutId}/print`, {
        printerId: printerNamed('Eve').id,
        ...(userId ? { userId } : {}),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.state).toBe('completed');
      await until(
        'the sample in the printer',
        async () => eve.jobs().length === before.length + 1 || undefined,
      );
      // The new document (the spool's names restart with the printer, so not by name or order).
      const last = eve.jobs().find((j) => {
        const i = before.indexOf(sha(j));
        if (i < 0) return true;
        before.splice(i, 1);
        return false;
      })!;
      expect(last.subarray(0, 5).toString()).toBe('%PDF-');
      return last;
    };
    await sample();
    // Alice's photo: noise that does not compress, just under the photo limit (512 KiB). Her card's
    // PDF then travels from B to A as a sealed message of about 1 MB, in parts.
    let x = 0x2545f491;
    const noise = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24) & 0xff;
    const photo = makePng(400, 430, () => [noise(), noise(), noise()]);
    expect(photo.length).toBeGreaterThan(500_000);
    expect(photo.length).toBeLessThanOrEqual(512 * 1024);
    const put = await onB.json('PUT', `/api/users/${aliceId}/photo`, { data: photo.toString('base64') });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const big = await sample(aliceId);
    expect(big.length).toBeGreaterThan(500_000);
  });
});
