// Two operators on one request at once, on PostgreSQL (real concurrent transactions): approve vs
// cancel of the same version, and two binds. Every round has exactly one winner; the loser gets a
// conflict that says what happened, and the database shows only the winner's change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import { createReplacement, type Replacement } from '../../src/services/replacement/replacement.js';
import { verifyAudit } from '../../src/store/audit-repo.js';
import { ConflictError } from '../../src/domain/errors.js';
import { openTestDb, postgresAvailable, type TestDb } from '../support/db.js';
import { seedActiveDevice, seedBlank, seedPolicy, seedUser } from '../support/replacement-seed.js';
import { testPki } from '../pki/fixtures.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPING the replacement race test: PostgreSQL is unreachable');
const ROUNDS = 50;

describe.skipIf(!pg)('replacement steps racing on PostgreSQL', () => {
  let t: TestDb;
  let rep: Replacement;
  let policyId: string;
  const clock = { now: () => new Date('2026-03-01T12:00:00Z') };
  const as = (id: string, name: string): Actor => ({
    id,
    name,
    roles: [],
    permissions: ['request.submit', 'request.approve', 'device.bind'],
  });
  let hal: Actor;
  let vera: Actor;
  let ivan: Actor;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    const pki = testPki(t.db, clock);
    await pki.cas.ensureHierarchy();
    rep = createReplacement({ db: t.db, clock, revocation: pki.revocation });
    policyId = await seedPolicy(t.db);
    hal = as(await seedUser(t.db, 'hal'), 'hal');
    vera = as(await seedUser(t.db, 'vera'), 'vera');
    ivan = as(await seedUser(t.db, 'ivan'), 'ivan');
  }, 120_000);
  afterAll(async () => t?.drop());

  const outcome = (r: PromiseSettledResult<unknown>[]) => {
    const won = r.filter((x) => x.status === 'fulfilled').length;
    const lost = r.flatMap((x) => (x.status === 'rejected' ? [x.reason as Error] : []));
    return { won, lost };
  };

  it(`approve vs cancel: one winner in each of ${ROUNDS} rounds`, async () => {
    const winners = { approve: 0, cancel: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const person = await seedUser(t.db, `p${i}`);
      const card = await seedActiveDevice(t.db, person, policyId);
      const r = await rep.submit.declareIncident(as(person, `p${i}`), card, { reason: 'lost' });
      const results = await Promise.allSettled([
        rep.decide.approve(vera, r.id, { version: r.version }),
        rep.cancel.cancel(hal, r.id, { version: r.version }),
      ]);
      const { won, lost } = outcome(results);
      expect(won).toBe(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(ConflictError);
      expect(lost[0]!.message).toMatch(
        /^Request #\d+ was (approved by vera|cancelled by hal)_\w+ while you were looking at it/,
      );
      const [row] = await t.db.query<{ state: string; dev: string }>(
        'SELECT r.state, d.state AS dev FROM requests r JOIN devices d ON d.id = r.target_device_id WHERE r.id = $1',
        [r.id],
      );
      if (results[0]!.status === 'fulfilled') {
        winners.approve++;
        expect(row).toEqual({ state: 'approved', dev: 'invalid' });
      } else {
        winners.cancel++;
        expect(row).toEqual({ state: 'cancelled', dev: 'active' });
      }
    }
    expect(winners.approve + winners.cancel).toBe(ROUNDS);
  }, 300_000);

  it(`bind vs bind: one device bound in each of ${ROUNDS} rounds`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const person = await seedUser(t.db, `b${i}`);
      const card = await seedActiveDevice(t.db, person, policyId);
      const r = await rep.submit.request(hal, card, { reason: 'damaged', workflow: 'self_enrollment' });
      const blanks = [await seedBlank(t.db), await seedBlank(t.db)];
      const results = await Promise.allSettled([
        rep.bind.bind(ivan, r.id, blanks[0]!),
        rep.bind.bind(hal, r.id, blanks[1]!),
      ]);
      const { won, lost } = outcome(results);
      expect(won).toBe(1);
      expect(lost[0]).toBeInstanceOf(ConflictError);
      expect(lost[0]!.message).toMatch(/already has its replacement device BLANK\w+/);
      const bound = await t.db.query<{ id: string }>(
        `SELECT id FROM devices WHERE id = ANY($1::uuid[]) AND state = 'bound'`,
        [blanks],
      );
      expect(bound).toHaveLength(1);
    }
    expect((await verifyAudit(t.db)).ok).toBe(true);
  }, 300_000);

  it('the expiry job on two servers at once ends each due temporary device exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const person = await seedUser(t.db, `x${i}`);
      const card = await seedActiveDevice(t.db, person, policyId);
      const temp = await seedBlank(t.db);
      const r = await rep.submit.request(hal, card, {
        reason: 'forgotten',
        workflow: 'self_enrollment',
        replacementDeviceId: temp,
      });
      // As issuance leaves the temporary device: active, due before the clock.
      await t.db.query(`UPDATE devices SET state = 'active' WHERE id = $1`, [temp]);
      await t.db.query(`UPDATE requests SET due_at = $2 WHERE id = $1`, [
        r.id,
        new Date('2026-03-01T00:00:00Z'),
      ]);
      ids.push(r.id);
    }
    const pki = testPki(t.db, clock);
    const second = createReplacement({ db: t.db, clock, revocation: pki.revocation });
    const [a, b] = await Promise.all([rep.expiry.runDue(), second.expiry.runDue()]);
    expect(a + b).toBe(8);
    const [n] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'request.temporary_expired' AND target_id = ANY($1::text[])`,
      [ids],
    );
    expect(n!.n).toBe(8);
    const states = await t.db.query<{ state: string }>(
      `SELECT DISTINCT state FROM requests WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    expect(states).toEqual([{ state: 'completed' }]);
  }, 120_000);
});
