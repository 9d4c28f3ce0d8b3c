// The audit log's names (issue 19 item 11): each event of a page carries the names of what it
// refers to — actor, target, ids in its details — and the whole page's names take ONE statement,
// however many events and ids it holds (no query per event or per id). On both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/services/audit-service.js';
import type { ServiceContext } from '../../src/services/context.js';
import { appendAudit } from '../../src/store/audit-repo.js';
import type { Db } from '../../src/store/db.js';
import { insertAgent } from '../../src/store/agents-repo.js';
import { insertDevice } from '../../src/store/devices-repo.js';
import { engines } from '../support/db.js';
import { portalFixture, type PortalFixture } from './portal-support.js';

const GONE = '99999999-9999-4999-8999-999999999999';

/** The database, counting the statements sent through it. */
function counting(db: Db): { db: Db; count: () => number } {
  let n = 0;
  const wrapped = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return (...args: Parameters<Db['query']>) => {
          n++;
          return target.query(...args);
        };
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { db: wrapped, count: () => n };
}

for (const engine of await engines()) {
  describe(`audit event names on ${engine}`, () => {
    let f: PortalFixture;
    beforeAll(async () => {
      f = await portalFixture(engine);
    });
    afterAll(async () => f?.t.drop());

    it('names the actor, the target and the details’ ids, in one statement for the page', async () => {
      const hannah = await f.user('hannah.help', { displayName: 'Hannah Help' });
      const bob = await f.user('bob', { displayName: 'Bob Baker' });
      const at = f.clock.now();
      const card = await insertDevice(f.t.db, { serial: '10000002', type: 'piv_card', at });
      const agent = await insertAgent(f.t.db, {
        ownerUserId: hannah.id,
        ownerKind: 'operator',
        name: 'Help desk PC',
        hostname: 'desk',
        tokenHash: 'x'.repeat(64),
        at,
      });
      const events = 30;
      await f.t.db.transaction(async (tx) => {
        for (let i = 0; i < events; i++)
          await appendAudit(tx, {
            actor: { id: hannah.id, name: 'hannah.help' },
            action: 'device.bind',
            targetType: 'device',
            targetId: card.id,
            details: {
              userId: bob.id,
              jobId: GONE,
              cards: [{ serial: '10000002', fromAgentId: agent.id }],
              policyId: GONE,
              i,
            },
            at,
          });
      });

      const c = counting(f.t.db);
      const ctx: ServiceContext = { ...f.ctx, db: c.db };
      const page = await new AuditService(ctx).list({ limit: 50, offset: 0 });
      // The page (its count and its rows) and then every name of it: three statements in all.
      expect(c.count()).toBe(3);
      const mine = page.items.filter((e) => e.action === 'device.bind');
      expect(mine).toHaveLength(events);
      // In no promised order (jsonb keeps keys its own way): compared as a set.
      const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
      expect([...mine[0]!.refs].sort(byName)).toEqual([
        { type: 'device', id: card.id, name: '10000002', detail: 'piv_card' },
        { type: 'user', id: bob.id, name: 'Bob Baker', detail: 'bob' },
        { type: 'user', id: hannah.id, name: 'Hannah Help', detail: 'hannah.help' },
        { type: 'agent', id: agent.id, name: 'Help desk PC', detail: null },
      ]);
      // The raw ids stay as they were (the portal shows them on expand); a policy that is gone and
      // a job (no name) have no ref.
      expect(mine[0]!.details).toMatchObject({ userId: bob.id, jobId: GONE, policyId: GONE });
    });

    it('a page with no events asks no names', async () => {
      const c = counting(f.t.db);
      const page = await new AuditService({ ...f.ctx, db: c.db }).list({
        action: 'nothing.like.this',
        limit: 50,
        offset: 0,
      });
      expect(page.items).toEqual([]);
      expect(c.count()).toBe(2);
    });
  });
}
