import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendAudit,
  auditChain,
  eventHash,
  verifyAudit,
  type AuditEvent,
  type AuditInput,
} from '../../src/store/audit-repo.js';
import type { Queryable } from '../../src/store/db.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const at = new Date('2026-11-02T08:00:00.000Z');

/** A group of events appended by one statement (auditChain), as the CA's group commit does. */
async function appendGroup(tx: Queryable, inputs: readonly AuditInput[]): Promise<AuditEvent[]> {
  const params: unknown[] = [];
  const chain = auditChain(inputs, params);
  const rows = await tx.query<{ seq: number; prev: string; hash: string }>(
    `WITH ${chain.ctes} ${chain.events.map((e) => `SELECT seq, prev, hash FROM ${e}`).join(' UNION ALL ')}`,
    params,
  );
  // The k-th input has the k-th seq (the rows' order is not guaranteed).
  const bySeq = rows.map((r) => ({ ...r, seq: Number(r.seq) })).sort((a, b) => a.seq - b.seq);
  return bySeq.map((r, k) => ({ ...chain.partials[k]!, seq: r.seq, prevHash: r.prev, hash: r.hash }));
}

for (const engine of await engines()) {
  describe(`audit chain on ${engine}`, () => {
    let t: TestDb;
    let events: AuditEvent[];
    beforeEach(async () => {
      t = await openTestDb(engine);
      events = [];
      for (let i = 1; i <= 5; i++)
        events.push(
          await t.db.transaction((tx) =>
            appendAudit(tx, {
              actor: { id: null, name: 'alice' },
              action: 'device.registered',
              targetType: 'device',
              targetId: `d${i}`,
              details: { serial: `S${i}` },
              at: new Date(at.getTime() + i),
            }),
          ),
        );
    });
    afterEach(async () => t?.drop());

    it('an untouched history verifies, every link pointing at the one before', async () => {
      expect(await verifyAudit(t.db)).toEqual({ ok: true, checked: 5, head: events[4]!.hash });
      expect(events[1]!.prevHash).toBe(events[0]!.hash);
    });

    it('appends at once, one event or a group each, with odd text, chain one line; the hash PostgreSQL computes is eventHash', async () => {
      const odd = { note: 'Zoë "quoted" \\ back\u2028line 🙂', nested: { b: [1, null, true], a: 'x' } };
      const made = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          t.db.transaction((tx) =>
            i % 4 === 3
              ? appendGroup(tx, [
                  { actor: { id: null, name: 'grp' }, action: 'g.one', targetType: 't', at, details: odd },
                  { actor: { id: null, name: 'grp' }, action: 'g.two', targetType: 't', at },
                ])
              : appendAudit(tx, {
                  actor: { id: null, name: `Zoë ${i}` },
                  action: 'x.did',
                  targetType: 'thing',
                  targetId: null,
                  details: odd,
                  correlationId: `c${i}`,
                  at: new Date(at.getTime() + i),
                }).then((e) => [e]),
          ),
        ),
      );
      for (const e of made.flat()) {
        const { hash, ...rest } = e;
        expect(eventHash(rest)).toBe(hash);
      }
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true, checked: 5 + 9 + 3 * 2 });
    });

    it('several events of one statement (auditChain) chain in PostgreSQL, each hash eventHash; with its condition false nothing is written', async () => {
      const odd = { note: 'Zoë "quoted" \\ back\u2028line 🙂', nested: { b: [1, null, true], a: 'x' } };
      const inputs = [
        {
          actor: { id: null, name: 'Zoë' },
          action: 'c.one',
          targetType: 't',
          targetId: 'x',
          details: odd,
          at,
        },
        { actor: { id: null, name: 'Zoë' }, action: 'c.two', targetType: 't', correlationId: 'k', at },
      ];
      const append = (when?: string) => {
        const params: unknown[] = [];
        const chain = auditChain(inputs, params, { when });
        return t.db.query<{ seq: number; prev: string; hash: string }>(
          `WITH ${chain.ctes} ${chain.events.map((e) => `SELECT seq, prev, hash FROM ${e}`).join(' UNION ALL ')}`,
          params,
        );
      };
      // Concurrent with single appends: the head's lock orders them all.
      const [unordered] = await Promise.all([
        append(),
        ...[1, 2].map((i) =>
          t.db.transaction((tx) => appendAudit(tx, { ...inputs[1]!, action: `single.${i}` })),
        ),
      ]);
      // UNION ALL's row order is not guaranteed: the chain's order is the seq's.
      const rows = [...unordered].sort((x, y) => Number(x.seq) - Number(y.seq));
      expect(rows).toHaveLength(2);
      expect(Number(rows[1]!.seq)).toBe(Number(rows[0]!.seq) + 1);
      expect(rows[1]!.prev).toBe(rows[0]!.hash);
      expect(await append('false')).toEqual([]);
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true, checked: 5 + 2 + 2 });
    });

    it('an altered row is reported at its own sequence number', async () => {
      await t.db.query(`UPDATE audit_events SET details = '{"serial":"FORGED"}' WHERE seq = 3`);
      expect(await verifyAudit(t.db)).toMatchObject({
        ok: false,
        brokenAt: 3,
        checked: 2,
        reason: expect.stringMatching(/altered/),
      });
    });

    it('an altered row whose hash was recomputed breaks the next link', async () => {
      const e = events[2]!;
      const forged = { ...e, actorName: 'mallory' };
      await t.db.query('UPDATE audit_events SET actor_name = $1, hash = $2 WHERE seq = 3', [
        'mallory',
        eventHash(forged),
      ]);
      expect(await verifyAudit(t.db)).toMatchObject({
        ok: false,
        brokenAt: 4,
        reason: expect.stringMatching(/does not link/),
      });
    });

    it('a removed row in the middle is reported as missing', async () => {
      await t.db.query('DELETE FROM audit_events WHERE seq = 2');
      expect(await verifyAudit(t.db)).toMatchObject({ ok: false, brokenAt: 2, reason: 'event 2 is missing' });
    });

    it('removing the newest rows is caught by the head', async () => {
      await t.db.query('DELETE FROM audit_events WHERE seq >= 4');
      expect(await verifyAudit(t.db)).toMatchObject({
        ok: false,
        brokenAt: 4,
        reason: expect.stringMatching(/removed from the end/),
      });
    });
  });
}
