#!/usr/bin/env node
// The `tessera` command.
import { Command } from 'commander';
import { VERSION } from '../config/version.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerAgentCommands } from './agent-commands.js';
import { registerServerCommands } from './server-commands.js';
import { registerCardCommands } from './card-commands.js';

const program = new Command()
  .name('tessera')
  .description('Tessera: credential management for smart cards, PIV tokens and mobile IDs')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)');

registerServerCommands(program);
registerAdminCommands(program);
registerAgentCommands(program);
registerCardCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`tessera: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
