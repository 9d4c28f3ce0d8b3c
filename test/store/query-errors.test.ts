// A failed statement never carries its parameters: on both engines, the error the store throws —
// and so every log line made of it — keeps PostgreSQL's code, the names it points at and the
// statement's shape, but not the values bound to it, PostgreSQL's "detail" (which quotes key
// values) or a value echoed in the message.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/http/app.js';
import { QueryError } from '../../src/store/db.js';
import { isUniqueViolation } from '../../src/store/sql.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const SECRET = 'Bind-Pass-7f3a9c';

/** The JSON line the server's logger writes for `{ err }`. */
function logged(err: unknown): string {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  pino(loggerOptions('info'), stream).error({ err }, 'unexpected error');
  return out.join('');
}

async function failure(run: () => Promise<unknown>): Promise<QueryError> {
  try {
    await run();
  } catch (e) {
    expect(e).toBeInstanceOf(QueryError);
    return e as QueryError;
  }
  throw new Error('the statement did not fail');
}

for (const engine of await engines()) {
  describe(`query errors on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await openTestDb(engine);
      await t.db.exec('CREATE TABLE secrets_probe (name text UNIQUE, code varchar(4))');
      await t.db.query('INSERT INTO secrets_probe (name) VALUES ($1)', [SECRET]);
    });
    afterAll(async () => t?.drop());

    it.each([
      ['a NUL in text', 'SELECT $1::text', [`${SECRET}\u0000`], '22021'],
      ['a value that is not a uuid', 'SELECT $1::uuid', [SECRET], '22P02'],
      ['a duplicate key', 'INSERT INTO secrets_probe (name) VALUES ($1)', [SECRET], '23505'],
      ['a value too long', 'INSERT INTO secrets_probe (name, code) VALUES ($2, $1)', [SECRET, 'x'], '22001'],
      ['a value that is not an integer', 'SELECT $1::integer', [SECRET], '22P02'],
    ])('%s: code and statement kept, parameters gone', async (_label, sql, params, code) => {
      const err = await failure(() => t.db.query(sql, params));
      expect(err.code).toBe(code);
      expect(err.statement).toBe(sql);
      const line = logged(err);
      expect(line).toContain(code);
      expect(line).toContain(sql.replace(/"/g, '\\"'));
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain('Bind-Pass');
    });

    it('inside a transaction too, and a unique violation is still recognised with its constraint', async () => {
      const err = await failure(() =>
        t.db.transaction((tx) => tx.query('INSERT INTO secrets_probe (name) VALUES ($1)', [SECRET])),
      );
      expect(isUniqueViolation(err)).toBe(true);
      expect(err.constraint).toBe('secrets_probe_name_key');
      expect(err.table).toBe('secrets_probe');
      expect(err.message).toContain('secrets_probe_name_key');
      expect(logged(err)).not.toContain(SECRET);
    });
  });
}
