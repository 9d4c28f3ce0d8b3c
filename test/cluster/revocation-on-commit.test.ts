// A phone's link ended inside a transaction (its device terminated by an operator, a replacement, a
// wallet reset) is said on the bus only once that transaction commits (issue #20): the store runs
// what afterCommit queued after COMMIT, never after a rollback, and AgentRevocations.sayOnCommit
// uses it, so a replacement refused half-way closes no phone's link. On both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRevocations } from '../../src/services/cluster/agent-revocations.js';
import { LocalBus } from '../../src/services/cluster/bus.js';
import { afterCommit } from '../../src/store/db.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const ID = '6f1c2a43-8d7e-4b0a-9c3d-2e5f8a1b7c90';

for (const engine of await engines()) {
  describe(`after the commit, on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await openTestDb(engine);
      await t.db.exec('CREATE TABLE commit_probe (n integer)');
    });
    afterAll(async () => t?.drop());

    it('runs once the transaction committed, when its change is visible outside it', async () => {
      const seen: number[] = [];
      let ran = false;
      let ranInside = true;
      await t.db.transaction(async (tx) => {
        await tx.query('INSERT INTO commit_probe (n) VALUES (1)');
        afterCommit(tx, () => {
          ran = true;
          void t.db
            .query<{ c: number }>('SELECT count(*)::int AS c FROM commit_probe WHERE n = 1')
            .then(([r]) => seen.push(r!.c));
        });
        await tx.query('SELECT 1');
        ranInside = ran;
      });
      expect(ranInside).toBe(false);
      expect(ran).toBe(true);
      await expect.poll(() => seen).toEqual([1]);
    });

    it('never runs when the transaction rolls back', async () => {
      const ran: string[] = [];
      await expect(
        t.db.transaction(async (tx) => {
          await tx.query('INSERT INTO commit_probe (n) VALUES (2)');
          afterCommit(tx, () => ran.push('hook'));
          throw new Error('refused half-way');
        }),
      ).rejects.toThrow('refused half-way');
      // The same database's next transaction commits: the rolled-back one's hook stays unrun.
      await t.db.transaction(async (tx) => {
        afterCommit(tx, () => ran.push('next'));
      });
      expect(ran).toEqual(['next']);
      expect(await t.db.query('SELECT n FROM commit_probe WHERE n = 2')).toEqual([]);
    });

    it('outside a transaction runs at once; a failing hook leaves the commit and the others standing', async () => {
      const ran: string[] = [];
      afterCommit(t.db, () => ran.push('now'));
      expect(ran).toEqual(['now']);
      const out = await t.db.transaction(async (tx) => {
        afterCommit(tx, () => {
          throw new Error('a listener failed');
        });
        afterCommit(tx, () => ran.push('second'));
        return 'committed';
      });
      expect(out).toBe('committed');
      expect(ran).toEqual(['now', 'second']);
    });

    it('sayOnCommit: the revocation is heard after the commit, not at all after a rollback', async () => {
      const bus = new LocalBus();
      const revocations = new AgentRevocations(bus);
      const heard: string[] = [];
      revocations.on((id) => heard.push(id));
      await expect(
        t.db.transaction(async (tx) => {
          revocations.sayOnCommit(tx, [ID]);
          throw new Error('the replacement was refused');
        }),
      ).rejects.toThrow();
      expect(heard).toEqual([]);
      await t.db.transaction(async (tx) => {
        revocations.sayOnCommit(tx, [ID]);
        expect(heard).toEqual([]);
      });
      expect(heard).toEqual([ID]);
      await bus.close();
    });
  });
}
