// `tessera start` as a newcomer runs it: the built-in demo agent is online at once, its three
// virtual readers each hold a blank card, and the administrator sees them in GET /api/agents/readers.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { signIn, until } from './support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tessera-start-agent-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('tessera start with the demo agent', () => {
  it('lists the three demo readers with cards for the administrator', async () => {
    const cli = startCli(['start'], { TESSERA_DATA_DIR: dataDir, PORT: '0', TESSERA_MASTER_KEY: '' });
    try {
      const [, url] = await cli.waitFor(/Operator portal\s+(http:\/\/127\.0\.0\.1:\d+)\/operator/, 120_000);
      const password = (await cli.waitFor(/Sign in as "admin" with password:\s+(\S+)/))[1]!;
      await cli.waitFor(/Stop with Ctrl-C/); // the banner's last line: it is all there
      expect(cli.output()).toMatch(/for admin\s+Tessera Virtual Reader 1 \(card 10000001\)/);
      // The demo's card printer (reference 002): the console says where its printed cards go.
      expect(cli.output()).toContain(
        `Card printing is on: "Tessera Virtual Card Printer" (its encoder is Tessera Virtual Reader 1)`,
      );
      expect(cli.output()).toContain(join(dataDir, 'printed-cards'));
      const asAdmin = await signIn(url!, 'admin', password);
      // The agent reports its printers just after it connects: wait for them.
      const printers = await until('the demo printer', async () => {
        const r = await asAdmin.json<{ available: boolean; items: { name: string; encoder: string }[] }>(
          'GET',
          '/api/printers',
        );
        return r.body.items.length ? r : undefined;
      });
      expect(printers.body.available).toBe(true);
      expect(printers.body.items.map((p) => [p.name, p.encoder])).toEqual([
        ['Tessera Virtual Card Printer', 'Tessera Virtual Reader 1'],
      ]);
      const admin = await signIn(url!, 'admin', password);
      const readers = await admin.json<{ reader: string; cardPresent: boolean; agentName: string }[]>(
        'GET',
        '/api/agents/readers',
      );
      expect(readers.status).toBe(200);
      expect(readers.body.map((r) => [r.reader, r.cardPresent, r.agentName])).toEqual([
        ['Tessera Virtual Reader 1', true, 'Demo agent (admin)'],
        ['Tessera Virtual Reader 2', true, 'Demo agent (admin)'],
        ['Tessera Virtual Reader 3', true, 'Demo agent (admin)'],
      ]);
      const agents = await admin.json<{ items: { name: string; connected: boolean; demo: boolean }[] }>(
        'GET',
        '/api/agents',
      );
      expect(agents.body.items).toEqual([
        expect.objectContaining({ name: 'Demo agent (admin)', connected: true, demo: true }),
      ]);
      const devices = await admin.json<{ items: { serial: string }[] }>(
        'GET',
        '/api/devices?q=1000000&limit=10',
      );
      expect(devices.body.items.map((d) => d.serial).sort()).toEqual([
        '10000001',
        '10000002',
        '10000003',
        '10000004',
        '10000005',
        '10000006',
      ]);
      expect(readdirSync(join(dataDir, 'demo-cards')).sort()).toEqual(
        ['10000001', '10000002', '10000003', '10000004', '10000005', '10000006'].map((s) => `${s}.json`),
      );
    } finally {
      const code = await cli.stop();
      expect(code, cli.output()).toBe(0);
    }
  }, 300_000);
});
