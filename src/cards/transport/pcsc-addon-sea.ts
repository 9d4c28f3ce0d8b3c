// The PC/SC addon inside the agent's single executable (scripts/build-agent.mjs bundles this file
// in place of pcsc-addon.ts). A single executable can require only Node's built-in modules, so the
// build embeds pcsclite's native `.node` file as an asset and bundles pcsclite's JavaScript with its
// `require('bindings')('pcsclite')` pointed at nativePcscAddon(). The operating system loads native
// code only from a file: the asset is written once to the user's cache directory, named by its
// SHA-256 and checked against it before every load, then loaded with process.dlopen.
// Why: docs/decisions/0012-agent-single-executable.md.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getRawAsset } from 'node:sea';
import { TransportError } from '../errors.js';

/** The asset key the build gives pcsclite.node (scripts/build-agent.mjs uses the same). */
export const PCSC_ASSET = 'pcsclite.node';

/** Where the addon is unpacked: the platform's per-user cache directory. */
export function addonCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32')
    return join(env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local'), 'Tessera', 'Cache');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'Tessera');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tessera');
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function embeddedAddon(): Uint8Array {
  try {
    return new Uint8Array(getRawAsset(PCSC_ASSET) as ArrayBuffer);
  } catch (e) {
    throw new TransportError(
      'This tessera-agent was built without PC/SC support (the pcsclite package was not installed where it was built). ' +
        'Use a build made with pcsclite installed',
      undefined,
      { cause: e },
    );
  }
}

/** Writes the addon to the cache (unless an identical copy is there) and returns its path. */
function unpack(bytes: Uint8Array): string {
  const digest = sha256(bytes);
  const dir = addonCacheDir();
  const file = join(dir, `pcsclite-${digest.slice(0, 16)}.node`);
  let present: Buffer | null = null;
  try {
    present = readFileSync(file);
  } catch {
    present = null;
  }
  if (present && sha256(present) === digest) return file;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written beside and renamed, so a second agent starting at the same time never loads half a file.
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TransportError(
      `Cannot unpack the PC/SC support to ${dir}: ${(e as Error).message}. Set XDG_CACHE_HOME to a writable directory`,
      undefined,
      { cause: e },
    );
  }
  return file;
}

/** What pcsclite's `require('bindings')('pcsclite')` returns inside the executable. */
export function nativePcscAddon(name: string): unknown {
  if (name !== 'pcsclite') throw new Error(`No native addon "${name}" in this executable`);
  const file = unpack(embeddedAddon());
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod, file);
  } catch (e) {
    throw new TransportError(
      `PC/SC support could not start: ${(e as Error).message}. It needs the pcsc-lite library and the pcscd service: ` +
        'install them (Debian and Ubuntu: apt-get install pcscd libpcsclite1; Fedora: dnf install pcsc-lite)',
      undefined,
      { cause: e },
    );
  }
  return mod.exports;
}

/** The `pcsclite` package's export, bundled into the executable; its addon is loaded on first use. */
export function loadPcscAddon(): unknown {
  embeddedAddon(); // says plainly when this build has no PC/SC support
  try {
    // A bundled CommonJS module, required here (not imported) so that the native code is loaded
    // only when PC/SC readers are asked for: --readers memory and --help never touch it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pcsclite') as unknown;
  } catch (e) {
    if (e instanceof TransportError) throw e;
    throw new TransportError(`PC/SC support could not start: ${(e as Error).message}`, undefined, {
      cause: e,
    });
  }
}
