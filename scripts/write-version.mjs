// Writes src/config/version.ts from package.json, the one place Tessera's version is stated.
// `npm version` runs it (the "version" script), so the constant moves with every release;
// `--check` only says whether the committed file is what it would write (a test runs that).
// A constant rather than reading package.json at run time: the agent also ships as one bundled
// executable, which has no package.json beside it.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const target = new URL('src/config/version.ts', root);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
  throw new Error(`package.json has no semantic version: ${version}`);
const text =
  '// Generated from package.json by scripts/write-version.mjs (npm version runs it): do not edit.\n' +
  "/** Tessera's version: the API reports it (/api/meta, OpenAPI), the commands print it, the agent sends it. */\n" +
  `export const VERSION = '${version}';\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: reported below
  }
  if (current !== text) {
    console.error(
      `src/config/version.ts does not say version ${version} of package.json: run node scripts/write-version.mjs`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
