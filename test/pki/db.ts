// The two database engines every store/service test runs on: PGlite, and the PostgreSQL server
// of the machine (each run in its own schema, dropped afterwards). PostgreSQL missing = a loud skip.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

export const hasPostgres = await postgresReachable();
if (!hasPostgres) console.warn(`SKIPPING PostgreSQL runs of PKI tests: ${PG_URL} is not reachable`);

export interface TestDb {
  db: Db;
  dispose(): Promise<void>;
}

export const ENGINES = ['pglite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

export async function openTestDb(engine: Engine): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await openDb();
    await migrate(db);
    return { db, dispose: () => db.close() };
  }
  const schema = `pki_test_${randomBytes(6).toString('hex')}`;
  const db = await openDb({ databaseUrl: PG_URL, schema });
  await migrate(db);
  return {
    db,
    async dispose() {
      await db.close();
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** A person with a device and a credential, as the lead's store will create them. */
export async function seedPerson(
  db: Db,
): Promise<{ userId: string; deviceId: string; credentialId: string }> {
  const [u] = await db.query<{ id: string }>(
    `INSERT INTO users (username, display_name, email) VALUES ($1, 'Alice Ångström', 'alice@example.test') RETURNING id`,
    [`alice_${randomBytes(4).toString('hex')}`],
  );
  const [d] = await db.query<{ id: string }>(
    `INSERT INTO devices (serial, type, state, user_id) VALUES ($1, 'piv_card', 'issuing', $2) RETURNING id`,
    [`SN${randomBytes(4).toString('hex')}`, u!.id],
  );
  const [c] = await db.query<{ id: string }>(
    `INSERT INTO credentials (user_id, profile, slot) VALUES ($1, 'PIV Authentication', '9a') RETURNING id`,
    [u!.id],
  );
  return { userId: u!.id, deviceId: d!.id, credentialId: c!.id };
}
