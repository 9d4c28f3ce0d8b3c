// The version is stated once, in package.json; src/config/version.ts is generated from it.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/config/version.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const tmp = mkdtempSync(join(tmpdir(), 'tessera-version-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the version', () => {
  it('is package.json’s, in the generated module and in `tessera --version`', () => {
    expect(VERSION).toBe(pkg.version);
    execFileSync('node', ['scripts/write-version.mjs', '--check']);
    const printed = execFileSync('npx', ['tsx', 'src/cli/main.ts', '--version'], { encoding: 'utf8' });
    expect(printed.trim()).toBe(pkg.version);
  });

  it('--check fails when package.json moved on without the module', () => {
    mkdirSync(join(tmp, 'scripts'));
    mkdirSync(join(tmp, 'src/config'), { recursive: true });
    copyFileSync('scripts/write-version.mjs', join(tmp, 'scripts/write-version.mjs'));
    copyFileSync('src/config/version.ts', join(tmp, 'src/config/version.ts'));
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7' }));
    const check = spawnSync('node', [join(tmp, 'scripts/write-version.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('version 9.8.7');
    execFileSync('node', [join(tmp, 'scripts/write-version.mjs')]);
    expect(readFileSync(join(tmp, 'src/config/version.ts'), 'utf8')).toContain("VERSION = '9.8.7'");
  });
});
