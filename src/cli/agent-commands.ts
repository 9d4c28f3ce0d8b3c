// `tessera agent`: pairs this workstation with a one-time code from the portal (once), then relays
// between the server and the card readers here until stopped.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WALLET_HEARTBEAT_MS, WalletBridge } from '../agent/wallet-bridge.js';
import type { Command } from 'commander';
import { AgentClient } from '../agent/agent-client.js';
import {
  defaultStateFile,
  loadIdentity,
  pairWithCode,
  saveIdentity,
  type AgentIdentity,
} from '../agent/identity.js';
import { VirtualPivCard } from '../cards/emulator/virtual-piv-card.js';
import { newCardState } from '../cards/emulator/card-state.js';
import { FileCardStorage } from '../cards/emulator/file-storage.js';
import { MemoryReaderSet } from '../cards/transport/memory.js';
import { PcscReaderSet } from '../cards/transport/pcsc.js';
import type { ReaderSet } from '../cards/transport/types.js';
import { AgentPrinters, parsePrinterSpecs, withCupsQueues } from '../agent/printers.js';

interface AgentFlags {
  server?: string;
  pair?: string;
  name?: string;
  state?: string;
  readers: string;
  emulate?: string;
  cardDir?: string;
  serial?: string;
  printer: string[];
  encoder: string[];
  cups?: string | boolean;
  wallet?: boolean;
  unpairWallet?: boolean;
  vpcd: string;
  heartbeat: string;
  /** false with --no-card-serial. */
  cardSerial: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

const stamp = (): string => new Date().toISOString().slice(11, 19);
const say = (s: string): void => {
  process.stdout.write(`[${stamp()}] ${s}\n`);
};

/** A Yubico serial as GET SERIAL reports it: an unsigned 32-bit number, printed in decimal. */
const MAX_SERIAL = 0xffff_ffff;

export interface Emulation {
  /** How many emulated readers, each holding a card. */
  count: number;
  /** The serials of the first cards, in reader order; the others get random serials. */
  serials: number[];
}

/**
 * Checks --emulate and --serial before anything else happens (a bad flag must not use up a
 * one-time pairing code). Fixed serials let an operator register or bind the cards in the inventory
 * before the agent runs.
 */
export function parseEmulation(flags: { readers: string; emulate?: string; serial?: string }): Emulation {
  if (flags.readers !== 'memory') {
    if (flags.serial !== undefined)
      throw new Error(
        '--serial gives emulated cards their serials: use it with --readers memory --emulate N',
      );
    return { count: 0, serials: [] };
  }
  const count = Number(flags.emulate ?? '1');
  if (!/^\d+$/.test(flags.emulate ?? '1') || count > 16)
    throw new Error(`--emulate must be a whole number from 0 to 16, got "${flags.emulate}"`);
  if (flags.serial === undefined) return { count, serials: [] };
  const parts = flags.serial.split(',').map((p) => p.trim());
  const serials = parts.map((p) => {
    const n = Number(p);
    if (!/^\d{1,10}$/.test(p) || n < 1 || n > MAX_SERIAL)
      throw new Error(
        `--serial takes card serials as decimal numbers from 1 to ${MAX_SERIAL}, separated by commas (e.g. 10000099,10000100); "${p}" is not one`,
      );
    return n;
  });
  const twice = serials.find((n, i) => serials.indexOf(n) !== i);
  if (twice !== undefined)
    throw new Error(`--serial names ${twice} twice: each emulated card needs its own serial`);
  if (serials.length > count)
    throw new Error(
      `--serial names ${serials.length} serials but --emulate ${count} makes only ${count} card(s): raise --emulate to ${serials.length} or name fewer serials`,
    );
  return { count, serials };
}

function openReaders(flags: AgentFlags, emulation: Emulation): ReaderSet {
  if (flags.readers === 'pcsc') {
    try {
      return PcscReaderSet.open();
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; or try the agent with emulated cards: --readers memory --emulate 2`,
      );
    }
  }
  const set = new MemoryReaderSet();
  for (let i = 0; i < emulation.count; i++) {
    const reader = `Tessera Emulated Reader ${i}`;
    const serial = emulation.serials[i];
    set.addReader(reader);
    let card: VirtualPivCard;
    if (flags.cardDir) {
      // A card with a given serial keeps its state in <serial>.json, so it follows its serial (not
      // its reader) across runs, whatever order --serial lists it in.
      const file = serial === undefined ? `card-${i}.json` : `${serial}.json`;
      const storage = new FileCardStorage(join(flags.cardDir, file));
      const loaded = storage.loadOrCreate(serial === undefined ? {} : { serial }).state;
      if (serial !== undefined && loaded.serial !== serial)
        throw new Error(
          `${join(flags.cardDir, file)} holds the card with serial ${loaded.serial}, not ${serial}: move it away or choose another --card-dir`,
        );
      card = new VirtualPivCard(loaded, { storage });
    } else card = new VirtualPivCard(serial === undefined ? undefined : newCardState({ serial }));
    set.insert(reader, card);
    say(`Emulated card ${card.serial} in "${reader}"`);
  }
  return set;
}

async function identityFor(flags: AgentFlags, stateFile: string): Promise<AgentIdentity> {
  if (flags.pair) {
    if (!flags.server) throw new Error('--pair needs --server URL (the address of the Tessera server)');
    say(`Pairing with ${flags.server}…`);
    const id = await pairWithCode(flags.server, flags.pair, flags.name ? { name: flags.name } : {});
    saveIdentity(stateFile, id);
    say(`Paired as "${id.name}" (agent ${id.agentId}); identity saved to ${stateFile}`);
    return id;
  }
  const saved = loadIdentity(stateFile);
  if (!saved)
    throw new Error(
      `This agent is not paired yet (no ${stateFile}): get a code in the portal and run tessera agent --server URL --pair CODE`,
    );
  if (flags.server && new URL(flags.server).origin !== new URL(saved.server).origin)
    throw new Error(
      `${stateFile} pairs this agent with ${saved.server}, not ${flags.server}: pair again with --pair CODE (or use --state FILE)`,
    );
  return saved;
}

/** "host:port" of the vpcd driver's card side. */
function parseVpcd(v: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new Error(`--vpcd must be HOST:PORT, e.g. 127.0.0.1:35963; got "${v}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** --heartbeat: whole seconds from 1 to 300. */
function parseHeartbeat(v: string): number {
  const n = Number(v);
  if (!/^\d{1,3}$/.test(v) || n < 1 || n > 300)
    throw new Error(`--heartbeat must be a whole number of seconds from 1 to 300; got "${v}"`);
  return n * 1000;
}

/** `--wallet`: the person's phone as this machine's smart card, through vpcd (docs/mobile.md). */
async function runWallet(flags: AgentFlags): Promise<void> {
  const vpcd = parseVpcd(flags.vpcd);
  const heartbeatMs = parseHeartbeat(flags.heartbeat);
  const stateFile = flags.state ?? defaultStateFile();
  const identity = await identityFor(flags, stateFile);
  const pairingFile = `${stateFile}.wallet-pairing`;
  const saved = existsSync(pairingFile) ? readFileSync(pairingFile, 'utf8').trim() : '';
  const bridge = new WalletBridge({
    server: identity.server,
    token: identity.token,
    pairingId: /^[0-9a-f-]{36}$/.test(saved) ? saved : null,
    savePairing: (id) =>
      id ? writeFileSync(pairingFile, `${id}\n`, { mode: 0o600 }) : rmSync(pairingFile, { force: true }),
    vpcd,
    log: say,
    heartbeatMs,
  });
  if (flags.unpairWallet) {
    say(
      (await bridge.unpair())
        ? 'The pairing with your phone is ended'
        : 'This agent is not paired with a phone',
    );
    process.exit(0);
  }
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());
  say(`Connecting to ${identity.server} to use your phone as this computer's smart card…`);
  try {
    const outcome = await bridge.run(stopped);
    say('Agent stopped');
    // Unpaired is the person's choice; a refused agent or pairing needs them to act.
    process.exit(outcome === 'refused' ? 1 : 0);
  } catch (e) {
    await bridge.close();
    throw e;
  }
}

async function runAgent(flags: AgentFlags): Promise<void> {
  if (flags.wallet || flags.unpairWallet) return runWallet(flags);
  if (flags.readers !== 'pcsc' && flags.readers !== 'memory')
    throw new Error(`--readers must be pcsc or memory, got "${flags.readers}"`);
  const emulation = parseEmulation(flags);
  // Printer flags are checked before pairing, like the others: a typo must not use up the code.
  let printerSpecs = parsePrinterSpecs(flags.printer ?? [], flags.cups ? [] : (flags.encoder ?? []));
  const stateFile = flags.state ?? defaultStateFile();
  const identity = await identityFor(flags, stateFile);
  if (flags.cups) {
    const server = typeof flags.cups === 'string' ? flags.cups : 'ipp://localhost:631';
    printerSpecs = await withCupsQueues(printerSpecs, server, flags.encoder ?? []);
  }
  const readers = openReaders(flags, emulation);
  let exitCode = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const client = new AgentClient({
    server: identity.server,
    token: identity.token,
    readers,
    ...(printerSpecs.length ? { printers: new AgentPrinters(printerSpecs) } : {}),
    ...(flags.cardSerial === false ? { cardSerials: false } : {}),
    log: say,
    onFatal: () => {
      exitCode = 1;
      finish();
    },
  });
  say(`Connecting to ${identity.server} (readers: ${flags.readers})…`);
  client.start();
  const onSignal = (signal: string): void => {
    say(`${signal}: stopping the agent`);
    finish();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  await finished;
  await client.stop();
  await readers.close();
  say('Agent stopped');
  process.exit(exitCode);
}

/**
 * Gives `cmd` the agent's options and action: `tessera agent` and the single executable's
 * `tessera-agent` (agent-main.ts) share one command line.
 */
export function defineAgentCommand(cmd: Command): Command {
  return cmd
    .description(
      'Run the workstation agent: relays between the Tessera server and the card readers of this machine. ' +
        'Pair it once with a code from the portal (--pair), then run it with the saved identity.',
    )
    .option('--server <url>', 'the Tessera server, e.g. https://tessera.example.org')
    .option('--pair <code>', 'one-time pairing code shown in the portal (pairs, then runs)')
    .option('--name <name>', 'how the agent is listed in the portal (default: "Agent on <hostname>")')
    .option('--state <file>', `where the agent identity is kept (default ${defaultStateFile()})`)
    .option('--readers <kind>', "pcsc (the machine's PC/SC readers) or memory (emulated cards)", 'pcsc')
    .option(
      '--emulate <n>',
      'with --readers memory: how many emulated readers, each with a blank PIV card',
      '1',
    )
    .option(
      '--serial <serials>',
      'with --readers memory: the serials (decimal, comma-separated) of the first emulated cards, e.g. 10000099,10000100 (default: random)',
    )
    .option(
      '--card-dir <dir>',
      "with --readers memory: keep the emulated cards' state in this directory (<serial>.json for a card given --serial)",
    )
    .option(
      '--printer <name=uri>',
      'a card printer, as NAME=ipp://host:port/path (a CUPS queue: ipp://localhost:631/printers/QUEUE); repeatable',
      collect,
      [],
    )
    .option(
      '--encoder <name=reader>',
      "the PC/SC reader inside printer NAME that encodes its cards, e.g. 'Card Printer=Virtual PCD 00 00'; repeatable",
      collect,
      [],
    )
    .option('--cups [uri]', 'also offer every queue of this CUPS server (default ipp://localhost:631)')
    .option(
      '--wallet',
      "use your phone's Tessera wallet as this computer's smart card: pairs with the phone (allowed on it), then puts it into pcscd's virtual reader (vsmartcard vpcd)",
    )
    .option(
      '--no-card-serial',
      "do not read each card's serial when it is inserted (the agent then opens a card only when the server asks; with several servers a start on another server checks the card through this agent's server)",
    )
    .option('--unpair-wallet', "end this agent's pairing with your phone")
    .option('--vpcd <host:port>', "with --wallet: the vpcd driver's card side", '127.0.0.1:35963')
    .option(
      '--heartbeat <seconds>',
      'with --wallet: how often to ping the server; three periods without an answer count as a lost connection (the card leaves the reader, the agent reconnects)',
      String(WALLET_HEARTBEAT_MS / 1000),
    )
    .action((flags: AgentFlags) => runAgent(flags));
}

export function registerAgentCommands(program: Command): void {
  defineAgentCommand(program.command('agent'));
}
