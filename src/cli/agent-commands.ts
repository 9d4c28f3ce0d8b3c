// `tessera agent`: pairs this workstation with a one-time code from the portal (once), then relays
// between the server and the card readers here until stopped.
import { join } from 'node:path';
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
import { FileCardStorage } from '../cards/emulator/card-state.js';
import { MemoryReaderSet } from '../cards/transport/memory.js';
import { PcscReaderSet } from '../cards/transport/pcsc.js';
import type { ReaderSet } from '../cards/transport/types.js';

interface AgentFlags {
  server?: string;
  pair?: string;
  name?: string;
  state?: string;
  readers: string;
  emulate?: string;
  cardDir?: string;
}

const stamp = (): string => new Date().toISOString().slice(11, 19);
const say = (s: string): void => {
  process.stdout.write(`[${stamp()}] ${s}\n`);
};

function openReaders(flags: AgentFlags): ReaderSet {
  if (flags.readers === 'pcsc') {
    try {
      return PcscReaderSet.open();
    } catch (e) {
      throw new Error(
        `${(e as Error).message}. Install pcscd and libpcsclite (apt-get install pcscd libpcsclite-dev) and reinstall Tessera, ` +
          'or try the agent with emulated cards: --readers memory --emulate 2',
      );
    }
  }
  if (flags.readers !== 'memory') throw new Error(`--readers must be pcsc or memory, got "${flags.readers}"`);
  const n = Number(flags.emulate ?? '1');
  if (!Number.isInteger(n) || n < 0 || n > 16)
    throw new Error(`--emulate must be 0-16, got "${flags.emulate}"`);
  const set = new MemoryReaderSet();
  for (let i = 0; i < n; i++) {
    const reader = `Tessera Emulated Reader ${i}`;
    set.addReader(reader);
    let card: VirtualPivCard;
    if (flags.cardDir) {
      const storage = new FileCardStorage(join(flags.cardDir, `card-${i}.json`));
      card = new VirtualPivCard(storage.loadOrCreate().state, { storage });
    } else card = new VirtualPivCard();
    set.insert(reader, card);
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

async function runAgent(flags: AgentFlags): Promise<void> {
  const stateFile = flags.state ?? defaultStateFile();
  const identity = await identityFor(flags, stateFile);
  const readers = openReaders(flags);
  let exitCode = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const client = new AgentClient({
    server: identity.server,
    token: identity.token,
    readers,
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

export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
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
    .option('--card-dir <dir>', "with --readers memory: keep the emulated cards' state in this directory")
    .action((flags: AgentFlags) => runAgent(flags));
}
