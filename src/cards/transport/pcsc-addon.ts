// Loads the optional native addon `pcsclite` from node_modules, as an npm install of Tessera has
// it. The agent's single executable is bundled with pcsc-addon-sea.ts in this file's place (see
// scripts/build-agent.mjs and docs/decisions/0012-agent-single-executable.md).
import { createRequire } from 'node:module';
import { TransportError } from '../errors.js';

/** The `pcsclite` package's export (a factory of PC/SC contexts); pcsc.ts types the slice it uses. */
export function loadPcscAddon(): unknown {
  try {
    return createRequire(import.meta.url)('pcsclite');
  } catch (e) {
    throw new TransportError(
      'PC/SC support is not installed: the optional package "pcsclite" (and libpcsclite) is missing. ' +
        'Install pcscd and libpcsclite (apt-get install pcscd libpcsclite-dev) and reinstall Tessera',
      undefined,
      { cause: e },
    );
  }
}
