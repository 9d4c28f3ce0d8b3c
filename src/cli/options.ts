import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigOverrides } from '../config/config.js';

export interface CommonFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  config?: string;
}

/** Adds the flags every command that opens the store shares. */
export function withStoreFlags(cmd: Command): Command {
  return cmd
    .option(
      '--data-dir <dir>',
      'where the embedded database and master key live (TESSERA_DATA_DIR)',
      undefined,
    )
    .option('--config <file>', 'JSON configuration file (TESSERA_CONFIG)');
}

export function configFrom(flags: CommonFlags): Config {
  if (flags.config) process.env.TESSERA_CONFIG = flags.config;
  const o: ConfigOverrides = {};
  if (flags.port !== undefined) {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be 0-65535, got "${flags.port}"`);
    o.port = port;
  }
  if (flags.host !== undefined) o.host = flags.host;
  if (flags.dataDir !== undefined) o.dataDir = flags.dataDir;
  return loadConfig(o);
}
