// The agent as a person gets it: `npm run build:agent` makes the single executable, the server
// offers it with its SHA-256, the test downloads it over HTTP like a browser would, and runs the
// downloaded file with no `node` on the PATH (and, where the machine lets us make a mount
// namespace, with the node binary itself made unrunnable). It shows its help, pairs with a code,
// reports its readers, and relays PIV commands to its emulated cards; with pcscd and vpcd it also
// loads the PC/SC addon it carries and relays to a card in pcscd's virtual reader; with
// ippeveprinter it prints a card over IPP, and the printer receives the preview's PDF.
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { pcscAvailable } from '../../src/cards/transport/pcsc.js';
import { insertVirtualCard, VIRTUAL_READER, type InsertedCard } from '../support/card-emulator.js';
import { startProcess, type RunningCli } from '../support/cli.js';
import { pixelDifference, rasterize } from '../support/images.js';
import { ippeveAvailable, startIppEvePrinter, stopAvahi, type IppEvePrinter } from '../support/printers.js';
import { acquirePcscd, pcscdMissing, type PcscdLease } from '../support/pcscd.js';
import { startTestServer, type ApiClient, type TestServer } from '../support/server.js';
import { newCode, signIn, until } from './support.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FILE = `tessera-agent-linux-x64`;
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
if (!onLinuxX64)
  console.warn(
    `\n*** SKIPPING the agent executable test: it builds and runs the Linux x64 executable only ***\n`,
  );

/**
 * Runs a command in a private mount namespace where the node binary is covered by /dev/null, when
 * this machine allows it (root with unshare); null otherwise (then only the PATH holds no node).
 */
function nodeHidden(): ((cmd: string, args: string[]) => [string, string[]]) | null {
  const node = realpathSync(process.execPath);
  const script = '/bin/mount --bind /dev/null "$0" && exec "$@"';
  const probe = spawnSync('/usr/bin/unshare', ['--mount', '/bin/sh', '-c', script, node, node, '--version'], {
    env: {},
    stdio: 'ignore',
  });
  // The probe tries to run node in the namespace: it must be refused there.
  if (probe.error || probe.status === 0 || probe.status === null) return null;
  const ok = spawnSync('/usr/bin/unshare', ['--mount', '/bin/sh', '-c', script, node, '/bin/true'], {
    env: {},
    stdio: 'ignore',
  });
  if (ok.status !== 0) return null;
  return (cmd, args) => ['/usr/bin/unshare', ['--mount', '/bin/sh', '-c', script, node, cmd, ...args]];
}

describe.skipIf(!onLinuxX64)('the agent as a single executable', { timeout: 120_000 }, () => {
  let dir: string;
  let builtDir: string;
  let server: TestServer;
  let admin: ApiClient;
  let adminId: string;
  let exe: string;
  let env: NodeJS.ProcessEnv;
  let wrap: (cmd: string, args: string[]) => [string, string[]];
  let agent: RunningCli | undefined;
  let buildOutput = '';
  let listing: unknown;
  let downloadHeaders: Headers;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-agent-exe-'));
    builtDir = join(dir, 'built');
    // Always a fresh build of the code under test (a few seconds), never a stale dist/downloads.
    buildOutput = execFileSync(process.execPath, ['scripts/build-agent.mjs', '--out-dir', builtDir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
    });
    server = await startTestServer({ config: { downloadsDir: builtDir } });
    admin = await signIn(server.url, server.admin.username, server.admin.password);
    adminId = (await admin.json<{ user: { id: string } }>('GET', '/api/auth/session')).body.user.id;

    // The person's machine: a home, and a PATH holding only the downloaded agent.
    const home = join(dir, 'home');
    const bin = join(home, 'bin');
    mkdirSync(bin, { recursive: true });
    exe = join(bin, FILE);
    env = {
      PATH: bin,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
    };
    // Downloaded as a browser or curl would, with the checksum file beside it.
    listing = await (await fetch(`${server.url}/api/downloads`)).json();
    const res = await fetch(`${server.url}/downloads/${FILE}`);
    if (res.status !== 200) throw new Error(`GET /downloads/${FILE}: ${res.status} ${await res.text()}`);
    downloadHeaders = res.headers;
    writeFileSync(exe, Buffer.from(await res.arrayBuffer()), { mode: 0o755 });
    writeFileSync(`${exe}.sha256`, await (await fetch(`${server.url}/downloads/${FILE}.sha256`)).text());

    const hide = nodeHidden();
    if (!hide) console.warn('agent executable test: no mount namespace here; node is kept off the PATH only');
    wrap = hide ?? ((cmd, args) => [cmd, args]);
  }, 300_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => {
    const [cmd, argv] = wrap(exe, args);
    return spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 60_000 });
  };
  const start = (args: string[]) => {
    const [cmd, argv] = wrap(exe, args);
    return startProcess(cmd, argv, { env, cwd: dir });
  };

  it('is built by npm run build:agent and served with its SHA-256', () => {
    expect(buildOutput).toMatch(
      /build:agent: .*tessera-agent-linux-x64 \([\d.]+ MB, PC\/SC (included|NOT included)/,
    );
    const onDisk = createHash('sha256')
      .update(readFileSync(join(builtDir, FILE)))
      .digest('hex');
    expect(buildOutput).toContain(`SHA-256 ${onDisk}`);
    expect(listing).toEqual({
      items: [
        expect.objectContaining({
          file: FILE,
          os: 'linux',
          arch: 'x64',
          size: statSync(join(builtDir, FILE)).size,
          sha256: onDisk,
          url: `/downloads/${FILE}`,
          checksumUrl: `/downloads/${FILE}.sha256`,
        }),
      ],
    });
    expect(downloadHeaders.get('content-disposition')).toBe(`attachment; filename="${FILE}"`);
    expect(downloadHeaders.get('content-type')).toBe('application/octet-stream');
    // What was downloaded is what was built, and sha256sum agrees with the server's checksum file.
    expect(createHash('sha256').update(readFileSync(exe)).digest('hex')).toBe(onDisk);
    expect(execFileSync('sha256sum', ['-c', `${FILE}.sha256`], { cwd: dirname(exe), encoding: 'utf8' })).toBe(
      `${FILE}: OK\n`,
    );
  });

  it('finds no node where it runs', () => {
    // The environment the executable gets: `command -v` (the shell's own lookup) finds no node.
    const [cmd, argv] = wrap('/bin/sh', ['-c', 'command -v node; command -v tessera-agent-linux-x64']);
    const r = spawnSync(cmd, argv, { env, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(exe);
    const noNode = spawnSync(...wrap('/bin/sh', ['-c', 'command -v node']), { env });
    expect(noNode.status).not.toBe(0);
  });

  it('shows the help of tessera agent, with or without the word agent', () => {
    const plain = run(['--help']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^Usage: tessera-agent \[options\]/);
    for (const flag of ['--server <url>', '--pair <code>', '--readers <kind>', '--emulate <n>', '--serial'])
      expect(plain.stdout).toContain(flag);
    const withWord = run(['agent', '--help']);
    expect(withWord.status).toBe(0);
    expect(withWord.stdout).toBe(plain.stdout);
    expect(plain.stderr).toBe('');
    const bad = run(['--readers', 'floppy', '--server', server.url, '--pair', 'AAAA-AAAA']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--readers must be pcsc or memory, got "floppy"/);
  });

  it('pairs with a code, reports its readers and relays PIV commands to its cards', async () => {
    const code = await newCode(admin);
    agent = start([
      '--server',
      server.url,
      '--pair',
      code,
      '--name',
      'Downloaded agent',
      '--readers',
      'memory',
      '--emulate',
      '2',
      '--serial',
      '10000099',
      '--no-card-serial',
    ]);
    await agent.waitFor(/Paired as "Downloaded agent"/, 30_000);
    await agent.waitFor(/Connected to .* as "Downloaded agent"/, 30_000);
    expect(readdirSync(join(env.XDG_CONFIG_HOME!, 'tessera'))).toEqual(['agent.json']);

    type Row = {
      id: string;
      name: string;
      connected: boolean;
      readers: { name: string; cardPresent: boolean }[];
    };
    const row = await until(
      'the agent and its two readers',
      async () => {
        const r = await admin.json<Row[] | { items: Row[] }>('GET', '/api/agents');
        const rows = Array.isArray(r.body) ? r.body : r.body.items;
        const a = rows.find((x) => x.name === 'Downloaded agent');
        return a?.connected && a.readers.length === 2 ? a : undefined;
      },
      30_000,
    );
    expect(row.readers.map((r) => [r.name, r.cardPresent])).toEqual([
      ['Tessera Emulated Reader 0', true],
      ['Tessera Emulated Reader 1', true],
    ]);

    // --no-card-serial: the agent did not read its cards for the server.
    expect(server.rt.agentHub.readersOf(row.id).map((r) => r.serial)).toEqual([null, null]);
    const conn = await server.rt.cardAccess.connect(adminId, row.id, 'Tessera Emulated Reader 0');
    try {
      const piv = await PivSession.open(conn);
      expect(await piv.getSerial()).toEqual({ serial: '10000099', source: 'yubico' });
    } finally {
      await conn.close?.();
    }

    expect(await agent.stop()).toBe(0);
    expect(agent.output()).toMatch(/SIGTERM: stopping the agent[\s\S]*Agent stopped/);
    agent = undefined;
  });

  const pcscMissing =
    pcscdMissing() ??
    (pcscAvailable() ? undefined : 'the pcsclite addon is not built here (npm rebuild pcsclite)');
  if (pcscMissing) console.warn(`\n*** SKIPPING the agent executable's PC/SC test: ${pcscMissing} ***\n`);

  describe.skipIf(pcscMissing !== undefined)('with pcscd and the vsmartcard reader', () => {
    let lease: PcscdLease;
    let inserted: InsertedCard | undefined;
    beforeAll(async () => {
      lease = await acquirePcscd();
    });
    afterAll(async () => {
      await agent?.stop();
      agent = undefined;
      await inserted?.remove();
      await lease?.release();
    });

    it('loads the PC/SC support it carries and relays to a card in a pcscd reader', async () => {
      agent = start([
        '--server',
        server.url,
        '--pair',
        await newCode(admin),
        '--name',
        'Downloaded PC/SC agent',
        '--state',
        join(dir, 'pcsc-agent.json'),
        '--readers',
        'pcsc',
      ]);
      await agent.waitFor(/Connected to .* as "Downloaded PC\/SC agent"/, 30_000);
      const cache = join(env.XDG_CACHE_HOME!, 'tessera');
      expect(readdirSync(cache)).toEqual([expect.stringMatching(/^pcsclite-[0-9a-f]{16}\.node$/)]);

      inserted = await insertVirtualCard();
      await agent.waitFor(/Card inserted in "Virtual PCD 00 00"/, 15_000);
      const reader = await until(
        'the card in the vpcd reader',
        async () =>
          (await server.rt.cardAccess.listReaders(adminId)).find(
            (r) => r.reader === VIRTUAL_READER && r.agentName === 'Downloaded PC/SC agent' && r.cardPresent,
          ),
        15_000,
      );
      // The agent read the card's serial through pcscd when it came (card-serial), and let go of it.
      await until(
        'the serial the agent read',
        () =>
          server.rt.agentHub
            .readersOf(reader.agentId)
            .find((r) => r.name === VIRTUAL_READER && r.serial === String(inserted!.card.serial)),
        15_000,
      );
      const conn = await server.rt.cardAccess.connect(adminId, reader.agentId, VIRTUAL_READER);
      try {
        const piv = await PivSession.open(conn);
        expect(await piv.getSerial()).toEqual({ serial: String(inserted.card.serial), source: 'yubico' });
      } finally {
        await conn.close?.();
      }
    });
  });

  if (!ippeveAvailable)
    console.warn(`\n*** SKIPPING the agent executable's printing test: no ippeveprinter ***\n`);

  describe.skipIf(!ippeveAvailable)('with ippeveprinter', () => {
    let eve: IppEvePrinter;
    let layoutId: string;
    beforeAll(async () => {
      eve = await startIppEvePrinter();
      // Printing configured: turned on, and a layout (a name, a Code 128 and a QR code of the serial).
      const text = { font: 'Helvetica-Bold', size: 12, color: '#1040C0', align: 'left', uppercase: false };
      const made = await admin.json<{ id: string }>('POST', '/api/layouts', {
        name: 'Badge',
        description: 'Printed by the downloaded agent',
        definition: {
          orientation: 'landscape',
          front: {
            background: '#FFF2A8',
            elements: [
              {
                kind: 'text',
                name: 'name',
                x: 28,
                y: 4,
                width: 55,
                height: 8,
                ...text,
                value: { from: 'person', field: 'displayName' },
              },
              {
                kind: 'barcode',
                name: 'serial',
                x: 28,
                y: 36,
                width: 50,
                height: 12,
                symbology: 'code128',
                color: '#000000',
                value: { from: 'card', field: 'serial' },
              },
            ],
          },
          back: {
            background: '#FFFFFF',
            elements: [
              {
                kind: 'barcode',
                name: 'qr',
                x: 4,
                y: 4,
                width: 24,
                height: 24,
                symbology: 'qr',
                color: '#000000',
                value: { from: 'card', field: 'serial' },
              },
            ],
          },
        },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      layoutId = made.body.id;
      const on = await admin.json('PUT', '/api/settings/printing', {
        enabled: true,
        issuerName: 'Test Agency',
      });
      expect(on.status, JSON.stringify(on.body)).toBe(200);
    }, 60_000);
    afterAll(async () => {
      await agent?.stop();
      agent = undefined;
      await eve?.stop();
      stopAvahi();
    });

    it('prints a card over IPP: the printer receives the PDF of the preview', async () => {
      agent = start([
        '--server',
        server.url,
        '--pair',
        await newCode(admin),
        '--name',
        'Downloaded printing agent',
        '--state',
        join(dir, 'printing-agent.json'),
        '--readers',
        'memory',
        '--emulate',
        '1',
        '--printer',
        `Eve=${eve.uri}`,
        '--encoder',
        'Eve=Tessera Emulated Reader 0',
      ]);
      await agent.waitFor(/Connected to .* as "Downloaded printing agent"/, 30_000);
      type Printer = { id: string; name: string; encoder: string | null; state: string };
      // When it never gets there, the printer's state says why (an IPP error is its message).
      let seen: Printer[] = [];
      const printer = await until(
        'the agent’s printer, idle',
        async () => {
          seen = (await admin.json<{ items: Printer[] }>('GET', '/api/printers')).body.items;
          return seen.find((p) => p.name === 'Eve' && p.state === 'idle');
        },
        30_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; printers: ${JSON.stringify(seen)}; agent: ${agent?.output()}`);
      });
      expect(printer.encoder).toBe('Tessera Emulated Reader 0');

      const r = await admin.json<{ state: string; jobId: number }>('POST', `/api/layouts/${layoutId}/print`, {
        printerId: printer.id,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.state).toBe('completed');
      const got = eve.jobs();
      expect(got).toHaveLength(1);
      const preview = Buffer.from(
        await (await admin.call('GET', `/api/layouts/${layoutId}/preview`)).arrayBuffer(),
      );
      const printed = rasterize(got[0]!, 100);
      const shown = rasterize(preview, 100);
      expect(printed).toHaveLength(2);
      // The sample card's dates come from the clock at each render: allow the few pixels of a date.
      for (let i = 0; i < 2; i++) expect(pixelDifference(printed[i]!, shown[i]!)).toBeLessThan(0.01);
      // Nothing went wrong on the way: no exception, no deprecation warning from the IPP encoder.
      expect(agent.output()).not.toMatch(/Error|Warning/);
    });
  });
});
