// Migration 031 seeds the default security questions on a new installation only: one that already
// has people (an administrator exists) and no questions — its administrator deleted them all —
// keeps an empty list.
import { afterEach, describe, expect, it } from 'vitest';
import { listMigrations } from '../../src/store/migrate.js';
import { insertUser } from '../../src/store/users-repo.js';
import { openTestDb, type TestDb } from '../support/db.js';

const seed = listMigrations().find((m) => m.name.startsWith('031_'))!;
const count = async (t: TestDb) =>
  Number((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM security_questions'))[0]!.n);

describe('migration 031: default security questions', () => {
  let t: TestDb | undefined;
  afterEach(async () => t?.drop());

  it('seeds six questions on a new installation (no people, no questions)', async () => {
    t = await openTestDb('pglite');
    expect(await count(t)).toBe(6);
    await t.db.exec('DELETE FROM security_questions');
    await t.db.exec(seed.sql);
    expect(await count(t)).toBe(6);
  });

  it('leaves an installation with people and no questions empty', async () => {
    t = await openTestDb('pglite');
    await t.db.exec('DELETE FROM security_questions');
    await insertUser(t.db, {
      username: 'first.admin',
      displayName: 'Admin',
      roles: ['admin'],
      at: new Date(),
    });
    await t.db.exec(seed.sql);
    expect(await count(t)).toBe(0);
  });
});
