// Runs once before the suite. Peers are started per test file (each on its own free loopback
// port) so files stay independent; what is shared is read-only: the migrated PGlite data
// directory every in-memory test database starts from, made here once instead of in each of the
// ~90 test processes that open one (seconds each: initdb and every migration).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { makePgliteTemplate } from './support/db.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated PGlite data directory (a tar), for test/support/db.ts pgliteTemplate(). */
    pgliteTemplateFile: string | undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pglite-template-'));
  const file = join(dir, 'migrated.tar');
  writeFileSync(file, Buffer.from(await (await makePgliteTemplate()).arrayBuffer()));
  project.provide('pgliteTemplateFile', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
