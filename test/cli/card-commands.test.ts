import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { registerCardCommands } from '../../src/cli/card-commands.js';
import { issueCertificateFor } from '../support/card-certs.js';
import { cardSeenByPcscd, VIRTUAL_READER } from '../support/card-emulator.js';
import { runTool } from '../support/card-tools.js';
import { acquirePcscd, pcscdMissing, toolMissing } from '../support/pcscd.js';

/** Two memory readers, one holding a card with an EC key and a certificate in 9A. */
async function readersWithCard(): Promise<() => MemoryReaderSet> {
  const card = new VirtualPivCard();
  const prep = new MemoryReaderSet();
  prep.addReader('prep');
  prep.insert('prep', card);
  const s = await PivSession.open(await prep.connect('prep'));
  await s.authenticate();
  const { spki } = await s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
  await s.putCertificate(SLOT.AUTHENTICATION, await issueCertificateFor(spki, 'CLI Holder'));
  prep.remove('prep');
  return () => {
    const set = new MemoryReaderSet();
    set.addReader('Empty Reader');
    set.addReader('Desk Reader');
    set.insert('Desk Reader', card);
    return set;
  };
}

async function run(args: string[], readers?: () => MemoryReaderSet): Promise<string> {
  const lines: string[] = [];
  const program = new Command().exitOverride();
  registerCardCommands(program, { readers, out: (s = '') => lines.push(s) });
  await program.parseAsync(['node', 'tessera', ...args]);
  return lines.join('\n');
}

describe('tessera card (memory readers)', () => {
  it('--help lists list, status, trace and emulate', () => {
    const program = new Command();
    const card = registerCardCommands(program);
    const help = card.helpInformation();
    for (const c of ['list', 'status', 'trace', 'emulate']) expect(help).toContain(c);
  });

  it('list shows readers and the card with its ATR', async () => {
    const out = await run(['card', 'list'], await readersWithCard());
    expect(out).toContain('Empty Reader: empty');
    expect(out).toContain('Desk Reader: card present, ATR 3BFD1300008131FE158073C021C057597562694B657940');
  });

  it('status reports version, serial, tries, default secrets, keys and certificates', async () => {
    const out = await run(['card', 'status'], await readersWithCard());
    expect(out).toContain('Reader:           Desk Reader');
    expect(out).toContain('Version:          5.4.3');
    expect(out).toMatch(/Serial:\s+\d+ \(yubico\)/);
    expect(out).toContain('PIN:              3/3 tries left (default PIN!)');
    expect(out).toContain('Management key:   3DES (default key!)');
    expect(out).toContain('Slot 9A (PIV Authentication):');
    expect(out).toContain('Key:            ECC P-256, generated on card');
    expect(out).toContain('Subject:        CN=CLI Holder');
  });

  it('trace verify-pin prints the APDUs with the PIN redacted', async () => {
    const out = await run(['card', 'trace', 'verify-pin', '--pin', '123456'], await readersWithCard());
    expect(out).toContain('> VERIFY');
    expect(out).toContain('<8 bytes redacted>');
    expect(out).not.toContain('313233343536');
    expect(out).toContain('PIN verified.');
  });

  it('status with no card says so', async () => {
    const empty = () => {
      const set = new MemoryReaderSet();
      set.addReader('Lonely Reader');
      return set;
    };
    await expect(run(['card', 'status'], empty)).rejects.toThrow(/No card in any reader/);
  });
});

const missing = pcscdMissing() ?? toolMissing('yubico-piv-tool');
if (missing) console.warn(`\n*** SKIPPING tessera card emulate test: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('tessera card emulate (pcscd + vpcd)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-emulate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a card file, inserts the card, yubico-piv-tool sees it, Ctrl-C saves it', async () => {
    const lease = await acquirePcscd();
    try {
      const file = join(dir, 'card.json');
      const lines: string[] = [];
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      const program = new Command().exitOverride();
      registerCardCommands(program, { out: (s = '') => lines.push(s), untilStopped: () => stopped });
      const running = program.parseAsync([
        'node',
        'tessera',
        'card',
        'emulate',
        '--file',
        file,
        '--serial',
        '31415926',
        '--trace',
      ]);
      const deadline = Date.now() + 15_000;
      while (!lines.some((l) => l.includes('Card ready'))) {
        if (Date.now() > deadline) throw new Error(`emulate did not insert the card: ${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await cardSeenByPcscd(VIRTUAL_READER);
      const status = await runTool('yubico-piv-tool', ['-r', 'Virtual', '-a', 'status']);
      expect(status.code, status.output).toBe(0);
      expect(status.stdout).toContain('Serial Number:\t31415926');
      await runTool('yubico-piv-tool', ['-r', 'Virtual', '-a', 'verify-pin', '-P', '000000']);
      stop();
      await running;
      expect(lines[0]).toContain('Created a new blank PIV card');
      expect(lines.join('\n')).toContain('> VERIFY');
      expect(lines.join('\n')).not.toContain('303030303030');
      expect(JSON.parse(readFileSync(file, 'utf8')).pinCounter.remaining).toBe(2);
    } finally {
      await lease.release();
    }
  });
});
