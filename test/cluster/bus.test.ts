// The bus between servers on PostgreSQL LISTEN/NOTIFY (services/cluster/bus.ts): a word said on one
// server is heard on the other, not twice on its own; a message longer than NOTIFY's 8000 bytes
// (a card's long answer relayed between servers) arrives whole; the in-memory bus of PGlite
// delivers at once.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBus, PgBus } from '../../src/services/cluster/bus.js';
import { openTestDb, postgresAvailable, type TestDb } from '../support/db.js';
import { until } from '../agent/support.js';

const pg = await postgresAvailable();
if (!pg)
  console.warn('SKIPPED the PostgreSQL half of test/cluster/bus.test.ts: no PostgreSQL at 127.0.0.1:5432');

describe.skipIf(!pg)('the bus on PostgreSQL', () => {
  let t: TestDb;
  let a: PgBus;
  let b: PgBus;
  beforeAll(async () => {
    t = await openTestDb('postgres');
    a = await PgBus.open(t.db.notifications!, 'server-a');
    b = await PgBus.open(t.db.notifications!, 'server-b');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await t?.drop();
  });

  it('a word said on A is heard on B once, and on A at once (from here)', async () => {
    const onA: string[] = [];
    const onB: string[] = [];
    a.subscribe('job', (p, here) => onA.push(`${p} ${here}`));
    b.subscribe('job', (p, here) => onB.push(`${p} ${here}`));
    a.publish('job', 'j-1');
    expect(onA).toEqual(['j-1 true']);
    await until('B hears it', () => onB.length > 0);
    b.publish('job', 'j-2');
    await until('A hears B', () => onA.length > 1);
    expect(onA).toEqual(['j-1 true', 'j-2 false']);
    expect(onB).toEqual(['j-1 false', 'j-2 true']);
  });

  it('words said at once share statements, in order; a repeated reader word is kept, a repeated job word may merge', async () => {
    const readers: string[] = [];
    const jobs: string[] = [];
    b.subscribe('reader', (p, here) => !here && readers.push(p));
    b.subscribe('job', (p, here) => !here && jobs.push(p));
    const said = ['r-in', 'r-out', 'r-in', 'r-out', 'r-in'];
    for (const p of said) {
      a.publish('reader', p);
      a.publish('job', 'j-9');
    }
    await until('B hears every reader word', () => readers.length === said.length);
    expect(readers).toEqual(said);
    await until('B hears the job word', () => jobs.includes('j-9'));
    expect(new Set(jobs)).toEqual(new Set(['j-9']));
  });

  it('a message longer than NOTIFY allows arrives whole, in parts', async () => {
    const big = randomBytes(30_000).toString('base64'); // 40,000 characters: six parts
    const heard: string[] = [];
    b.subscribe('card', (p, here) => !here && heard.push(p));
    a.publish('card', big);
    a.publish('card', 'small');
    await until('B has both', () => heard.length === 2);
    expect(heard.sort((x, y) => x.length - y.length)).toEqual(['small', big]);
  });
});

describe('the bus in one process (PGlite)', () => {
  it('delivers at once, from here', () => {
    const bus = new LocalBus();
    const got: string[] = [];
    const stop = bus.subscribe('reader', (p, here) => got.push(`${p} ${here}`));
    bus.publish('reader', 'x');
    stop();
    bus.publish('reader', 'y');
    expect(got).toEqual(['x true']);
  });
});
