// Applies the SQL files of src/store/migrations in name order, once each, recording them in
// schema_migrations. Each file runs in its own transaction, so a failed migration leaves nothing
// half-applied. Files are numbered by area: 001-009 foundation, 010-019 PKI, 020-029 issuance,
// 030-039 directory and self-service, 040-049 card printing, 050-059 replacement.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export function listMigrations(): { name: string; sql: string }[] {
  return readdirSync(migrationsDir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(migrationsDir + name, 'utf8') }));
}

export async function migrate(db: Db): Promise<string[]> {
  await db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const done = new Set(
    (await db.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name),
  );
  const applied: string[] = [];
  for (const m of listMigrations()) {
    if (done.has(m.name)) continue;
    const ran = await db.transaction(async (tx) => {
      // Several servers may start at once against one PostgreSQL: one migrates, the others wait.
      await tx.query('SELECT pg_advisory_xact_lock(734100)');
      const again = await tx.query('SELECT 1 FROM schema_migrations WHERE name = $1', [m.name]);
      if (again.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}
