// The embedded default of `tessera start` (reference 002): the demo agents have a virtual card
// printer whose encoder is their first virtual reader. A card issued with printing is encoded there,
// written as a real PDF to the folder the console names (the very document the print step shows),
// and the printer then feeds the next blank card, so the next issuance can print at once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_ISSUER_USERNAME,
  DEMO_PRINTER_FOLDER,
  DEMO_PRINTER_NAME,
  demoReaderName,
  type DemoAgents,
} from '../../src/services/demo-agent.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { signIn, until } from './support.js';

type Job = {
  id: string;
  deviceId: string;
  status: string;
  error: unknown;
  print: { printJobId: number } | null;
};
type Printer = { id: string; name: string; encoder: string | null; agentId: string; state: string };

let server: TestServer;
let demo: DemoAgents;
let ivan: ApiClient;

beforeAll(async () => {
  server = await startTestServer({ demo: true });
  demo = await server.rt.startDemoAgents(server.url);
  ivan = await signIn(server.url, DEMO_ISSUER_USERNAME, server.demoPassword!);
});
afterAll(async () => {
  await server?.close();
});

async function idOf(username: string): Promise<string> {
  const r = await ivan.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${username}`);
  return r.body.items.find((u) => u.username === username)!.id;
}

describe('the demo agent’s virtual card printer', () => {
  it('is listed with its encoder, one of the agent’s virtual readers; printing is available', async () => {
    const v = await until('the demo printer', async () => {
      const r = (await ivan.json<{ available: boolean; items: Printer[] }>('GET', '/api/printers')).body;
      return r.items.length ? r : undefined;
    });
    expect(v.available).toBe(true);
    expect(v.items.map((p) => [p.name, p.encoder, p.state])).toEqual([
      [DEMO_PRINTER_NAME, demoReaderName(0), 'idle'],
    ]);
    expect(demo.printerFolder).toBe(join(server.rt.config.dataDir, DEMO_PRINTER_FOLDER));
  });

  it('prints alice’s card as a PDF in the folder, then feeds a blank card for bob', async () => {
    const printer = (await ivan.json<{ items: Printer[] }>('GET', '/api/printers')).body.items[0]!;
    const layoutId = (await ivan.json<{ items: { id: string }[] }>('GET', '/api/layouts')).body.items[0]!.id;
    const policyId = (
      await ivan.json<{ items: { id: string; name: string }[] }>('GET', '/api/policies')
    ).body.items.find((p) => p.name === 'PIV ECC P-256 (demo)')!.id;
    const issue = async (username: string) => {
      const r = await ivan.json<{ device: { serial: string }; job: Job }>('POST', '/api/issuance', {
        userId: await idOf(username),
        agentId: printer.agentId,
        reader: printer.encoder,
        action: 'issue',
        policyId,
        pin: '482916',
        pinConfirmation: '482916',
        printerId: printer.id,
        layoutId,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const job = await until(
        'the print step',
        async () => {
          const j = (await ivan.json<Job>('GET', `/api/issuance/jobs/${r.body.job.id}`)).body;
          return j.status === 'running' ? undefined : j;
        },
        60_000,
      );
      return { serial: r.body.device.serial, job };
    };

    const alice = await issue('alice');
    expect(alice.serial).toBe('10000004'); // the blank card the issuance officer's encoder held
    expect(alice.job.status).toBe('awaiting_confirmation');
    const files = readdirSync(demo.printerFolder!).filter((f) => f.endsWith('.pdf'));
    expect(files).toEqual([`0001-Tessera-card-${alice.serial}.pdf`]);
    const shown = Buffer.from(
      await (await ivan.call('GET', `/api/issuance/jobs/${alice.job.id}/print`)).arrayBuffer(),
    );
    expect(readFileSync(join(demo.printerFolder!, files[0]!)).equals(shown)).toBe(true);
    expect(
      (await ivan.json<Job>('POST', `/api/issuance/jobs/${alice.job.id}/print/continue`, {})).body.status,
    ).toBe('succeeded');

    // The printed card left the printer; the next blank card is in its encoder.
    const agent = demo.of(DEMO_ISSUER_USERNAME)!;
    expect(String(agent.readers.cardIn(demoReaderName(0))?.serial)).toBe('10002001');
    const bob = await issue('bob');
    expect(bob.serial).toBe('10002001');
    expect(bob.job.status).toBe('awaiting_confirmation');
    const held = await ivan.json<Job>('POST', `/api/issuance/jobs/${bob.job.id}/print/cancel`, {});
    expect(held.body.status).toBe('cancelled');
    const d = await ivan.json<{ state: string }>('GET', `/api/devices/${bob.job.deviceId}`);
    expect(d.body.state).toBe('pending');
  });
});
