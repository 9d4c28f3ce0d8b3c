// `tessera start` as a newcomer runs it: the built-in demo agent is online at once, its three
// virtual readers each hold a blank card, and the administrator sees them in GET /api/agents/readers.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';
import { signIn } from './support.js';

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
