#!/usr/bin/env node
// `tessera-agent`: the workstation agent on its own, the entry point of its single executable
// (npm run build:agent). It takes exactly the options of `tessera agent`; a leading `agent` is
// accepted too, so a command written for `tessera agent` runs unchanged.
import { Command } from 'commander';
import { AGENT_VERSION } from '../agent/agent-client.js';
import { defineAgentCommand } from './agent-commands.js';

const program = defineAgentCommand(new Command('tessera-agent'))
  .version(AGENT_VERSION)
  .showHelpAfterError('(run with --help for usage)');

const args = process.argv.slice(2);
if (args[0] === 'agent') args.shift();

program.parseAsync(args, { from: 'user' }).catch((err: unknown) => {
  console.error(`tessera-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
