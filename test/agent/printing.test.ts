// Printing through an agent on real printers: a private CUPS with a file-backed queue and
// ippeveprinter. The agent (the real client, over the server's WebSocket) reports its printers with
// their encoders beside its readers; the server renders the card and sends Print-Job through it,
// follows the job to its end, and the PDF the printer received, rasterized by pdftoppm, matches the
// preview. A disabled CUPS queue and a killed ippeveprinter give the error path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.js';
import { AgentPrinters } from '../../src/agent/printers.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { makeJpeg, pixelDifference, rasterize } from '../support/images.js';
import {
  cupsAvailable,
  ippeveAvailable,
  startCups,
  startAll,
  startIppEvePrinter,
  stopAvahi,
  stopPeer,
  type CupsPrinter,
  type IppEvePrinter,
} from '../support/printers.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { pairAgent, signIn, until } from './support.js';

type Printer = { id: string; name: string; encoder: string | null; state: string; reasons: string[] };
type Err = { error: { code: string; message: string; details?: { state?: string; reasons?: string[] } } };

describe.skipIf(!cupsAvailable || !ippeveAvailable)(
  'printing through an agent (CUPS and ippeveprinter)',
  () => {
    let srv: TestServer;
    let admin: ApiClient;
    let cups: CupsPrinter;
    let eve: IppEvePrinter;
    let agent: AgentClient;
    let readers: MemoryReaderSet;
    let layoutId: string;
    let aliceId: string;

    beforeAll(async () => {
      // startAll stops what did start when one fails (this beforeAll would otherwise leak it).
      [srv, cups, eve] = await startAll<[TestServer, CupsPrinter, IppEvePrinter]>(
        [() => startTestServer({ demo: true }), () => startCups(), () => startIppEvePrinter()],
        stopPeer,
      );
      admin = await signIn(srv.url, srv.admin.username, srv.admin.password);
      const identity = await pairAgent(admin, 'Badge desk');
      readers = new MemoryReaderSet();
      readers.addReader('Encoder in Eve');
      readers.addReader('Encoder in CUPS');
      agent = new AgentClient({
        server: srv.url,
        token: identity.token,
        readers,
        printers: new AgentPrinters([
          { name: 'Eve', uri: eve.uri, encoder: 'Encoder in Eve' },
          { name: 'CUPS card', uri: cups.uri, encoder: 'Encoder in CUPS' },
        ]),
      });
      agent.start();
      await agent.waitConnected();
      layoutId = (await admin.json<{ items: { id: string }[] }>('GET', '/api/layouts')).body.items[0]!.id;
      aliceId = (
        await admin.json<{ items: { id: string; username: string }[] }>('GET', '/api/users?q=alice')
      ).body.items.find((u) => u.username === 'alice')!.id;
      const photo = await makeJpeg(300, 400, '#C03020');
      expect(
        (await admin.json('PUT', `/api/users/${aliceId}/photo`, { data: photo.toString('base64') })).status,
      ).toBe(200);
    });
    afterAll(async () => {
      // Each stop on its own: one that throws must not leave the others running.
      await Promise.allSettled([agent?.stop()]);
      await Promise.allSettled([srv?.close(), cups?.stop(), eve?.stop()]);
      stopAvahi();
    });

    const printers = async () =>
      (await admin.json<{ available: boolean; items: Printer[] }>('GET', '/api/printers')).body;
    const preview = async () =>
      Buffer.from(
        await (await admin.call('GET', `/api/layouts/${layoutId}/preview?userId=${aliceId}`)).arrayBuffer(),
      );

    it('lists the agent’s printers with their encoders, beside its readers', async () => {
      // A queue just started may report itself busy for a moment: wait until both say idle.
      const view = await until('both printers, idle', async () => {
        const v = await printers();
        return v.items.length === 2 && v.items.every((p) => p.state === 'idle') ? v : undefined;
      });
      expect(view.available).toBe(true);
      expect(view.items.map((p) => [p.name, p.encoder, p.state])).toEqual([
        ['CUPS card', 'Encoder in CUPS', 'idle'],
        ['Eve', 'Encoder in Eve', 'idle'],
      ]);
      const r = await admin.json<{ items: { reader: string }[] }>('GET', '/api/issuance/cards');
      expect(r.status).toBe(200);
    });

    it('prints alice’s PIV card on ippeveprinter: the PDF it received is the preview', async () => {
      const eveId = (await printers()).items.find((p) => p.name === 'Eve')!.id;
      const r = await admin.json<{ state: string; jobId: number }>('POST', `/api/layouts/${layoutId}/print`, {
        printerId: eveId,
        userId: aliceId,
      });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('completed');
      const got = eve.jobs();
      expect(got).toHaveLength(1);
      const printed = rasterize(got[0]!, 100);
      const shown = rasterize(await preview(), 100);
      expect(printed).toHaveLength(2);
      // The sample card's dates come from the clock at each render: allow the few pixels of a date.
      for (let i = 0; i < 2; i++) expect(pixelDifference(printed[i]!, shown[i]!)).toBeLessThan(0.01);
    });

    it('prints on the CUPS queue: the file device receives the same card', async () => {
      const id = (await printers()).items.find((p) => p.name === 'CUPS card')!.id;
      const r = await admin.json<{ state: string }>('POST', `/api/layouts/${layoutId}/print`, {
        printerId: id,
        userId: aliceId,
      });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('completed');
      const { readFileSync } = await import('node:fs');
      const printed = rasterize(readFileSync(cups.output), 100);
      const shown = rasterize(await preview(), 100);
      for (let i = 0; i < 2; i++) expect(pixelDifference(printed[i]!, shown[i]!)).toBeLessThan(0.01);
    });

    it('a disabled CUPS queue stops the job: a print_failed error with the printer’s reasons', async () => {
      const id = (await printers()).items.find((p) => p.name === 'CUPS card')!.id;
      cups.disable();
      try {
        const r = await admin.json<Err>('POST', `/api/layouts/${layoutId}/print`, {
          printerId: id,
          userId: aliceId,
        });
        expect(r.status).toBe(502);
        expect(r.body.error.code).toBe('print_failed');
        expect(r.body.error.details?.state).toBe('stopped');
        expect(r.body.error.details?.reasons).toContain('paused');
        expect(r.body.error.message).toMatch(/not printed.*stopped.*Retry/);
      } finally {
        cups.enable();
      }
    });

    it('a killed ippeveprinter is an error; printed and failed jobs are both audited', async () => {
      const id = (await printers()).items.find((p) => p.name === 'Eve')!.id;
      eve.kill();
      const r = await admin.json<Err>('POST', `/api/layouts/${layoutId}/print`, { printerId: id });
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(r.body.error.message).toMatch(/cannot be reached/);
      const audit = await admin.json<{ items: { action: string }[] }>(
        'GET',
        '/api/audit?targetType=printer&limit=20',
      );
      expect(audit.body.items.map((a) => a.action)).toEqual(
        expect.arrayContaining(['card.printed', 'card.print_failed']),
      );
    });
  },
);
