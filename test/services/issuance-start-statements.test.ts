// The SQL statements an issuance's start sends (issue #20: each costs the server ~0.15 ms of CPU
// whatever it carries; docs/decisions/0039): a card new to the inventory is registered and started
// by one statement after the two reads, a blank card in the inventory read by it and then moved and
// started by one guarded statement; a card that does not move goes the transaction, which refuses
// it saying why. Counted on a starter with the runtime's own parts but a card reader and a runner
// that touch no database, so no run's statement can mix in; what the start wrote is checked too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/domain/errors.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import type { CardReader } from '../../src/services/issuance/card-reader.js';
import { IssuanceStarter } from '../../src/services/issuance/issuance-starter.js';
import { deviceForIssuance } from '../../src/services/issuance/card-intake.js';
import { moveDevice } from '../../src/services/issuance/device-move.js';
import type { User } from '../../src/store/users-repo.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { listAudit, verifyAudit } from '../../src/store/audit-repo.js';
import { getDeviceBySerial, insertDevice } from '../../src/store/devices-repo.js';
import { getJob } from '../../src/store/jobs-repo.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { engines } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';

type StarterDeps = ConstructorParameters<typeof IssuanceStarter>[0];

for (const engine of await engines()) {
  describe(`an issuance's start on ${engine}`, () => {
    let srv: TestServer;
    let admin: Actor;
    let ecc: Policy;
    let aliceId: string;
    let serial = 31_000_000;
    const statements: string[] = [];
    const launched: string[] = [];
    /** Runs just before the statement it is given is sent (a change "meanwhile", without timing). */
    const hook: { before?: (sql: string) => Promise<void> } = {};
    let starter: IssuanceStarter;

    beforeAll(async () => {
      srv = await startTestServer({ demo: true, engine });
      const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
      ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      aliceId = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!.id;
      const s = await srv.rt.services.settings.getSecurity();
      await srv.rt.services.settings.putSecurity(admin, { ...s, initialPinDisplayMode: 'not_displayed' });
      // The runtime's starter's own parts (requests, printing, settings, the PIN vault)…
      const deps = (srv.rt.services.issuance.starter as unknown as { deps: StarterDeps }).deps;
      starter = new IssuanceStarter({
        ...deps,
        db: counting(srv.rt.db, statements, hook),
        // …but the card in the reader is just its serial, and the run is not started.
        cards: {
          reach: async () => ({
            serial: String(serial),
            conn: { close: async () => undefined },
            session: {},
          }),
        } as unknown as CardReader,
        runner: {
          instanceId: deps.runner.instanceId,
          launch: async (_a, job) => void launched.push(job.id),
          launchPrint: async () => undefined,
        },
      });
    });
    afterAll(async () => srv?.close());

    const start = async (actor = admin) => {
      statements.length = 0;
      return starter.start(actor, {
        userId: aliceId,
        card: { agentId: 'agent', reader: 'Reader' },
        action: 'issue',
        policyId: ecc.id,
      });
    };

    it('a card new to the inventory: the person and policy read, then one statement registers and starts it', async () => {
      serial += 1;
      const { device, job } = await start();
      expect(statements).toHaveLength(2);
      expect(statements[0]).toMatch(/FROM \(SELECT 1\) AS one/);
      expect(statements[1]).toMatch(/INSERT INTO devices/);
      expect(device).toMatchObject({
        serial: String(serial),
        state: 'issuing',
        userId: aliceId,
        policyId: ecc.id,
      });
      expect(launched).toContain(job!.id);
      const db = srv.rt.db;
      expect(await getDeviceBySerial(db, String(serial))).toEqual(device);
      expect(await getJob(db, job!.id)).toMatchObject({ deviceId: device.id, status: 'running', attempt: 1 });
      // The PIN and the PUK stored (sealed for this device), the two events chained in order.
      const secrets = await db.query<{ kind: string }>(
        'SELECT kind FROM device_secrets WHERE device_id = $1 ORDER BY kind',
        [device.id],
      );
      expect(secrets.map((r) => r.kind)).toEqual(['initial_pin', 'puk']);
      const deps = (srv.rt.services.issuance.starter as unknown as { deps: StarterDeps }).deps;
      expect(await deps.pins.get(db, device.id)).toMatch(/^\d+$/);
      const events = (await listAudit(db, { targetId: device.id, limit: 10, offset: 0 })).items.reverse();
      expect(events.map((e) => e.action)).toEqual(['device.registered', 'issuance.started']);
      expect(events[0]!.details).toEqual({ serial: String(serial), type: 'piv_card', via: 'issuance' });
      expect(events[1]!.details).toEqual({
        jobId: job!.id,
        userId: aliceId,
        policyId: ecc.id,
        serial: String(serial),
        pinMode: 'not_displayed',
        selfService: false,
        requestId: null,
      });
      expect(events[1]!.seq).toBe(events[0]!.seq + 1);
      expect(await verifyAudit(db)).toMatchObject({ ok: true });
    });

    it('a card in the inventory: read by that statement (nothing written), then moved and started by one guarded statement', async () => {
      serial += 1;
      await insertDevice(srv.rt.db, { serial: String(serial), type: 'piv_card', at: new Date() });
      const { device, job } = await start();
      expect(device).toMatchObject({ state: 'issuing', userId: aliceId, policyId: ecc.id });
      expect(statements).toHaveLength(3);
      expect(statements[2]).toMatch(/^WITH start_m AS \(UPDATE devices/);
      expect(await getDeviceBySerial(srv.rt.db, String(serial))).toEqual(device);
      expect(await getJob(srv.rt.db, job!.id)).toMatchObject({ deviceId: device.id, status: 'running' });
      const events = (await listAudit(srv.rt.db, { targetId: device.id, limit: 10, offset: 0 })).items;
      expect(events.map((e) => e.action)).toEqual(['issuance.started']);
      expect(await verifyAudit(srv.rt.db)).toMatchObject({ ok: true });
    });

    it('an issuer who may not register cards: a known card read, then moved and started by one statement; an unknown one refused', async () => {
      const issuer = { ...admin, permissions: admin.permissions!.filter((p) => p !== 'device.register') };
      serial += 1;
      await insertDevice(srv.rt.db, { serial: String(serial), type: 'piv_card', at: new Date() });
      const { device } = await start(issuer);
      expect(device).toMatchObject({ state: 'issuing', userId: aliceId });
      expect(statements).toHaveLength(3);
      expect(statements[1]).toMatch(/^SELECT \* FROM devices WHERE upper\(serial\)/);
      expect(statements[2]).toMatch(/^WITH start_m AS/);
      serial += 1;
      await expect(start(issuer)).rejects.toThrow(
        /is not in the inventory: ask an issuance officer to register it/,
      );
      expect(await getDeviceBySerial(srv.rt.db, String(serial))).toBeNull();
    });

    it('a card bound to another person: the guarded statement writes nothing, the transaction refuses it saying why', async () => {
      serial += 1;
      const bob = (await srv.rt.services.users.search({ q: 'bob', limit: 1, offset: 0 })).items[0]!;
      await insertDevice(srv.rt.db, {
        serial: String(serial),
        type: 'piv_card',
        at: new Date(),
        moved: { state: 'bound', userId: bob.id, policyId: ecc.id },
      });
      const before = (await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total;
      await expect(start()).rejects.toThrow(/is bound to another person/);
      // The reads, the guarded statement, then BEGIN, the request it may serve, the lock, ROLLBACK.
      expect(statements[2]).toMatch(/^WITH start_m AS/);
      expect(statements[3]).toBe('BEGIN');
      expect((await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total).toBe(before);
      expect(await getDeviceBySerial(srv.rt.db, String(serial))).toMatchObject({
        state: 'bound',
        userId: bob.id,
      });
    });

    it.runIf(engine === 'postgres')(
      'a card registered by another transaction meanwhile: the statement writes nothing, the start reads it again and moves it',
      async () => {
        serial += 1;
        let commit!: () => void;
        const committed = new Promise<void>((r) => (commit = r));
        let inserted!: () => void;
        const registered = new Promise<void>((r) => (inserted = r));
        // Another start registers the same card and has not committed: the INSERT waits for it.
        const other = srv.rt.db.transaction(async (tx) => {
          await insertDevice(tx, { serial: String(serial), type: 'piv_card', at: new Date() });
          inserted();
          await committed;
        });
        await registered;
        const mine = start();
        while (
          (
            await srv.rt.db.query(
              `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH start_d%'`,
            )
          ).length === 0
        )
          await new Promise((r) => setTimeout(r, 10));
        commit();
        await other;
        const { device } = await mine;
        expect(device).toMatchObject({ serial: String(serial), state: 'issuing', userId: aliceId });
        // The conflict left no row to see (the statement's snapshot is older): read again in the
        // transaction, then as for a card in the inventory.
        expect(statements).toHaveLength(9);
        expect(statements[3]).toMatch(/FROM devices WHERE upper\(serial\)/);
        const events = (await listAudit(srv.rt.db, { targetId: device.id, limit: 10, offset: 0 })).items;
        expect(events.map((e) => e.action)).toEqual(['issuance.started']);
        expect(await verifyAudit(srv.rt.db)).toMatchObject({ ok: true });
      },
    );

    describe('self-issuance in the portal', () => {
      let alice: Actor;
      beforeAll(async () => {
        const u = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!;
        alice = { id: u.id, name: u.username, roles: u.roles, permissions: permissionsOf(u.roles) };
      });
      const bound = async () => {
        serial += 1;
        return insertDevice(srv.rt.db, {
          serial: String(serial),
          type: 'piv_card',
          at: new Date(),
          moved: { state: 'bound', userId: aliceId, policyId: ecc.id },
        });
      };
      const startSelf = () => {
        statements.length = 0;
        return starter.startSelf(alice, { agentId: 'agent', reader: 'Reader' });
      };

      it('a card bound to the person: its read handed on, then moved and started by one guarded statement', async () => {
        const card = await bound();
        const { device, job } = await startSelf();
        expect(device).toMatchObject({ id: card.id, state: 'issuing', userId: aliceId, policyId: ecc.id });
        // The person, the card, its policy; then the guarded move and start.
        expect(statements).toHaveLength(4);
        expect(statements[3]).toMatch(/^WITH start_m AS \(UPDATE devices/);
        expect(launched).toContain(job!.id);
      });

      it("a card unbound between the portal's read and the move: refused, typed, saying why; nothing written", async () => {
        const card = await bound();
        let before = 0;
        // An administrator unbinds the card after the portal read it bound to alice, before the move.
        hook.before = async (sql) => {
          if (!sql.startsWith('WITH start_m')) return;
          hook.before = undefined;
          await moveDevice(srv.rt.db, card, 'unbind', { userId: null, policyId: null }, new Date());
          before = (await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total;
        };
        const launches = launched.length;
        try {
          const refused = await startSelf().then(
            () => null,
            (e: unknown) => e,
          );
          expect(refused).toBeInstanceOf(ConflictError);
          expect((refused as ConflictError).message).toMatch(
            /is no longer bound to you, so you cannot issue it here: ask your help desk to bind it to you again/,
          );
          expect((refused as ConflictError).details).toEqual({
            serial: card.serial,
            reason: 'not_bound_to_you',
          });
        } finally {
          hook.before = undefined;
        }
        // The guarded statement moved nothing; the transaction locked the card and refused it.
        expect(statements[3]).toMatch(/^WITH start_m AS/);
        expect(statements[4]).toBe('BEGIN');
        expect(await getDeviceBySerial(srv.rt.db, card.serial)).toMatchObject({
          state: 'inventory',
          userId: null,
          policyId: null,
        });
        const jobs = await srv.rt.db.query('SELECT 1 FROM issuance_jobs WHERE device_id = $1', [card.id]);
        expect(jobs).toHaveLength(0);
        const secrets = await srv.rt.db.query('SELECT 1 FROM device_secrets WHERE device_id = $1', [card.id]);
        expect(secrets).toHaveLength(0);
        expect((await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total).toBe(before);
        expect(launched).toHaveLength(launches);
        expect(await verifyAudit(srv.rt.db)).toMatchObject({ ok: true });
      });

      it("a card bound again with another policy between the portal's read and the move: refused, typed, saying why; nothing written", async () => {
        const card = await bound();
        const rsa = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV RSA'))!;
        let before = 0;
        // The help desk unbinds the card and binds it to alice again with another policy, after the
        // portal read it (with ECC) and before the move: the card is to be issued with RSA now.
        hook.before = async (sql) => {
          if (!sql.startsWith('WITH start_m')) return;
          hook.before = undefined;
          const unbound = await moveDevice(
            srv.rt.db,
            card,
            'unbind',
            { userId: null, policyId: null },
            new Date(),
          );
          await moveDevice(srv.rt.db, unbound, 'bind', { userId: aliceId, policyId: rsa.id }, new Date());
          before = (await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total;
        };
        const launches = launched.length;
        try {
          const refused = await startSelf().then(
            () => null,
            (e: unknown) => e,
          );
          expect(refused).toBeInstanceOf(ConflictError);
          expect((refused as ConflictError).message).toMatch(
            /was bound to you again with another device policy while your issuance was starting: start it again/,
          );
          expect((refused as ConflictError).details).toEqual({
            serial: card.serial,
            reason: 'policy_changed',
          });
        } finally {
          hook.before = undefined;
        }
        // The guarded statement moved nothing; the transaction locked the card and refused it.
        expect(statements[3]).toMatch(/^WITH start_m AS/);
        expect(statements[4]).toBe('BEGIN');
        expect(await getDeviceBySerial(srv.rt.db, card.serial)).toMatchObject({
          state: 'bound',
          userId: aliceId,
          policyId: rsa.id,
        });
        const jobs = await srv.rt.db.query('SELECT 1 FROM issuance_jobs WHERE device_id = $1', [card.id]);
        expect(jobs).toHaveLength(0);
        const secrets = await srv.rt.db.query('SELECT 1 FROM device_secrets WHERE device_id = $1', [card.id]);
        expect(secrets).toHaveLength(0);
        expect((await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total).toBe(before);
        expect(launched).toHaveLength(launches);
        expect(await verifyAudit(srv.rt.db)).toMatchObject({ ok: true });
      });

      it("the fallback transaction re-checks under its lock: a card unbound since the portal's read is refused", async () => {
        const card = await bound();
        // The transaction's part alone (a request's start goes it directly): the card as the portal
        // read it (bound), unbound before the transaction locks it.
        await moveDevice(srv.rt.db, card, 'unbind', { userId: null, policyId: null }, new Date());
        await expect(
          srv.rt.db.transaction((t) =>
            deviceForIssuance(
              t,
              alice,
              { id: aliceId } as User,
              ecc,
              card.serial,
              { now: () => new Date() },
              card,
              { action: 'start_issuance', patch: { userId: aliceId, policyId: ecc.id }, at: new Date() },
              'self',
            ),
          ),
        ).rejects.toThrow(/is no longer bound to you/);
        expect(await getDeviceBySerial(srv.rt.db, card.serial)).toMatchObject({
          state: 'inventory',
          userId: null,
        });
      });
    });

    it('a card deleted since the unlocked read is refused with a typed error, not a crash', async () => {
      serial += 1;
      const card = await insertDevice(srv.rt.db, {
        serial: String(serial),
        type: 'piv_card',
        at: new Date(),
      });
      await srv.rt.db.query('DELETE FROM devices WHERE id = $1', [card.id]);
      const refused = srv.rt.db.transaction((t) =>
        deviceForIssuance(
          t,
          admin,
          { id: aliceId } as User,
          ecc,
          card.serial,
          { now: () => new Date() },
          card,
        ),
      );
      await expect(refused).rejects.toThrow(ConflictError);
      await expect(refused).rejects.toMatchObject({
        details: { serial: card.serial, reason: 'device_removed' },
      });
      expect(await getDeviceBySerial(srv.rt.db, card.serial)).toBeNull();
    });

    it('a card that is not blank is refused with a typed error saying why, and nothing is written', async () => {
      serial += 1;
      await start();
      const before = (await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total;
      // The same card again, issuing now.
      await expect(start()).rejects.toThrow(ConflictError);
      await expect(start()).rejects.toThrow(/is issuing, not blank/);
      expect((await listAudit(srv.rt.db, { limit: 1, offset: 0 })).total).toBe(before);
    });
  });
}

/**
 * `db`, with every statement it and its transactions send put on `into` (BEGIN and COMMIT too);
 * `hook.before`, when set, runs (on the real database) before each statement outside a transaction
 * is sent.
 */
function counting(db: Db, into: string[], hook: { before?: (sql: string) => Promise<void> } = {}): Db {
  const count = (q: Queryable): Queryable => {
    const query = q.query.bind(q);
    // The transaction's own object, changed in place: afterCommit knows it by its identity.
    q.query = (sql, params) => {
      into.push(sql);
      return query(sql, params);
    };
    return q;
  };
  return {
    ...db,
    query: async (sql, params) => {
      into.push(sql);
      await hook.before?.(sql);
      return db.query(sql, params);
    },
    transaction: (fn) => {
      into.push('BEGIN');
      return db.transaction((tx) => fn(count(tx))).finally(() => into.push('COMMIT'));
    },
  } as Db;
}
