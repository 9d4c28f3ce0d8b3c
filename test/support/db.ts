// The two engines every store test runs against: PGlite in memory, and the PostgreSQL server on
// this machine (127.0.0.1:5432, trust auth, database `test`), each run in a schema of its own that
// is dropped afterwards. Set TESSERA_TEST_PG=off to skip PostgreSQL (loudly) where none runs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { openDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

export const PG_URL = process.env.TESSERA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDb {
  db: Db;
  engine: 'pglite' | 'postgres';
  drop(): Promise<void>;
}

let pgAvailable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  if (process.env.TESSERA_TEST_PG === 'off') return Promise.resolve(false);
  pgAvailable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return pgAvailable;
}

export const testSchemaName = (prefix = 't') => `${prefix}_${randomBytes(6).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

let template: Promise<Blob> | undefined;

/** A PGlite database in memory, migrated, as a tar of its data directory. */
export async function makePgliteTemplate(): Promise<Blob> {
  const db = await openDb();
  await migrate(db);
  const blob = await db.dumpDataDir!();
  await db.close();
  return blob;
}

/**
 * A migrated PGlite data directory: starting from it skips initdb and the migrations, which cost
 * seconds per database on a busy two-core machine. The suite's global setup makes it once per run
 * (test/global-setup.ts) and every test process reads that file; a process started without it
 * (another runner) makes its own, once.
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const file = inject('pgliteTemplateFile');
    if (file) return new Blob([readFileSync(file)]);
    return makePgliteTemplate();
  })();
  return template;
}

export async function openTestDb(engine: 'pglite' | 'postgres'): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await openDb({ pgliteTemplate: await pgliteTemplate() });
    await migrate(db);
    return { db, engine, drop: () => db.close() };
  }
  const schema = testSchemaName();
  const db = await openDb({ databaseUrl: PG_URL, schema, poolSize: 4 });
  await migrate(db);
  return {
    db,
    engine,
    drop: async () => {
      await db.close();
      await dropSchema(schema);
    },
  };
}

/** The engines to run a store suite on; PostgreSQL missing is reported, never silently dropped. */
export async function engines(): Promise<('pglite' | 'postgres')[]> {
  if (await postgresAvailable()) return ['pglite', 'postgres'];
  console.warn(`\n*** PostgreSQL at ${PG_URL} is unreachable: store tests run on PGlite only ***\n`);
  return ['pglite'];
}
