// The two engines every store test runs against: PGlite in memory, and the PostgreSQL server on
// this machine (127.0.0.1:5432, trust auth, database `test`), each run in a schema of its own that
// is dropped afterwards. Set TESSERA_TEST_PG=off to skip PostgreSQL (loudly) where none runs.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
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

/**
 * A migrated PGlite data directory, made once per test process: starting from it skips initdb,
 * which costs seconds per database on a busy two-core machine.
 */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const db = await openDb();
    await migrate(db);
    const blob = await db.dumpDataDir!();
    await db.close();
    return blob;
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
