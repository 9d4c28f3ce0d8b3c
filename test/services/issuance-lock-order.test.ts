// An issuance's end takes the job's lock before the device's, as the recovery sweep does (issue #20):
// the general success transaction (a self-issuance, a request's replacement, a restore, a mobile ID,
// a printed card's Continue) locked the device first, so a sweep of another server that claimed the
// job and then locked the device deadlocked with it (PostgreSQL aborts one after deadlock_timeout).
// Here the sweep claims the job just as the run's success transaction begins, and locks the device
// once that transaction waits for it: the sweep commits, and the run's end is refused as ended
// elsewhere, with no deadlock on either side. Retry and Recycle likewise locked the device before
// the job, and deadlocked with a Cancel of the same failed job. PostgreSQL only (PGlite has one
// connection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCommand } from '../../src/cards/apdu.js';
import { ConflictError } from '../../src/domain/errors.js';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import { moveDevice } from '../../src/services/issuance/device-move.js';
import { appendAudit } from '../../src/store/audit-repo.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { getDevice } from '../../src/store/devices-repo.js';
import { finishJob, getJob } from '../../src/store/jobs-repo.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { engines } from '../support/db.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.runIf((await engines()).includes('postgres'))(
  'the job before the device: an issuance’s end, Retry and Recycle (postgres)',
  () => {
    let srv: TestServer;
    const cards = new MemoryCardAccess();
    let admin: Actor;
    let alice: Actor;
    let ecc: Policy;

    beforeAll(async () => {
      srv = await startTestServer({ demo: true, cardAccess: cards, engine: 'postgres' });
      const actor = async (q: string): Promise<Actor> => {
        const u = (await srv.rt.services.users.search({ q, limit: 1, offset: 0 })).items[0]!;
        return { id: u.id, name: u.username, roles: u.roles, permissions: permissionsOf(u.roles) };
      };
      admin = await actor('admin');
      alice = await actor('alice');
      ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
    });
    afterAll(async () => srv?.close());

    it('a self-issuance’s success while a sweep claims its job and then locks its device: no deadlock, the sweep wins', async () => {
      const reader = 'Reader lock order';
      const serial = '41000001';
      cards.addCard(reader, Number(serial));
      const ref = { agentId: TEST_AGENT_ID, reader };
      await srv.rt.services.issuance.starter.start(admin, {
        userId: alice.id!,
        card: ref,
        action: 'bind',
        policyId: ecc.id,
      });
      const runner = srv.rt.services.issuance.runner;
      const deps = (runner as unknown as { deps: { db: Db } }).deps;
      const db = deps.db;
      const errors: unknown[] = [];
      let sweep: Promise<void> | undefined;
      let sweepHolds: (() => void) | undefined;
      // Armed at the card's last command: the run's next transaction is its success's.
      let armed = false;
      deps.db = new Proxy(db, {
        get(target, key) {
          if (key === 'transaction')
            return async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
              if (armed) {
                armed = false;
                const held = new Promise<void>((r) => (sweepHolds = r));
                sweep = sweepOf(serial);
                await held;
              }
              return target.transaction(fn).catch((e: unknown) => {
                errors.push(e);
                throw e;
              });
            };
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });

      /** Another server's recovery sweep (interrupted-jobs.ts): the job claimed, then the device locked. */
      async function sweepOf(cardSerial: string): Promise<void> {
        await db.transaction(async (tx) => {
          const [running] = await tx.query<{ id: string }>(
            `SELECT j.id FROM issuance_jobs j JOIN devices d ON d.id = j.device_id
            WHERE d.serial = $1 AND j.status = 'running' FOR UPDATE OF j`,
            [cardSerial],
          );
          const id = running!.id;
          const job = (await getJob(tx, id, true))!;
          const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          sweepHolds!();
          // Once the run's success transaction waits for the job (holding what it took before it).
          while (
            (
              await db.query('SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [
                Number(row!.pid),
              ])
            ).length === 0
          )
            await new Promise((r) => setTimeout(r, 10));
          const at = new Date();
          await finishJob(
            tx,
            id,
            'failed',
            { code: 'interrupted', message: 'interrupted', correlationId: 'c' },
            at,
          );
          const d = (await getDevice(tx, job.deviceId, true))!;
          await moveDevice(tx, d, 'fail', {}, at);
          await appendAudit(tx, {
            actor: { id: null, name: 'system (recovery)' },
            action: 'issuance.interrupted',
            targetType: 'device',
            targetId: d.id,
            details: { jobId: id, attempt: job.attempt },
            at,
          });
        });
      }

      const card = cards.readers.cardIn(reader)!;
      const transmit = card.transmit.bind(card);
      card.transmit = async (apdu: Uint8Array) => {
        const cmd = decodeCommand(apdu);
        // The initial PIN set (CHANGE REFERENCE DATA, P2 80): the last command of the run.
        if (cmd.ins === 0x24 && cmd.p2 === 0x80) armed = true;
        return transmit(apdu);
      };
      let jobId: string;
      try {
        const { job } = await srv.rt.services.issuance.starter.startSelf(alice, ref);
        jobId = job!.id;
        await runner.settled(jobId);
        expect(sweep).toBeDefined();
        // The sweep commits (before the fix one side failed with "deadlock detected").
        await expect(sweep).resolves.toBeUndefined();
        expect(errors.map((e) => (e as Error).message).join('\n')).not.toMatch(/deadlock/);
        expect(errors.map((e) => (e as { code?: string }).code)).toContain('issuance_attempt_ended');
      } finally {
        deps.db = db;
        card.transmit = transmit;
      }
      const after = await srv.rt.services.issuance.jobs.get(jobId);
      expect(after).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
      expect((await srv.rt.services.devices.get(after.deviceId)).state).toBe('failed');
      const audit = await srv.rt.services.audit.list({ targetId: after.deviceId, limit: 50, offset: 0 });
      expect(audit.items.map((e) => e.action)).not.toContain('issuance.succeeded');
    });

    it('a Retry while a Cancel locks the failed job and then its device: no deadlock, the Cancel wins and the Retry is refused saying why', async () => {
      const reader = 'Reader retry lock order';
      const serial = '41000002';
      cards.addCard(reader, Number(serial));
      const device = await srv.rt.services.devices.register(admin, { serial, type: 'piv_card' });
      await srv.rt.db.query(
        `UPDATE devices SET state = 'issuing', user_id = $1, policy_id = $2 WHERE id = $3`,
        [alice.id, ecc.id, device.id],
      );
      const [row] = await srv.rt.db.query<{ id: string }>(
        `INSERT INTO issuance_jobs (device_id, user_id, policy_id, status, options)
         VALUES ($1, $2, $3, 'running', $4) RETURNING id`,
        [
          device.id,
          alice.id,
          ecc.id,
          JSON.stringify({
            action: 'issue',
            pinMode: 'displayed',
            agentId: TEST_AGENT_ID,
            reader,
            changePinAtEnd: false,
          }),
        ],
      );
      const jobId = row!.id;
      // Failed as interrupted (its server is gone): to be retried or cancelled.
      expect(await srv.rt.services.issuance.interrupted.recover()).toBe(1);
      const retry = srv.rt.services.issuance.retry;
      const deps = (retry as unknown as { deps: { db: Db } }).deps;
      const db = deps.db;
      let cancel: Promise<void> | undefined;
      // The Cancel takes the job just as the Retry's transaction begins.
      deps.db = new Proxy(db, {
        get(target, key) {
          if (key === 'transaction')
            return async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
              let holds!: () => void;
              const held = new Promise<void>((r) => (holds = r));
              cancel = cancelWhileWaitedFor(db, jobId, holds);
              await held;
              return target.transaction(fn);
            };
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });

      try {
        const refused = await retry.retry(admin, jobId).then(
          () => null,
          (e: unknown) => e,
        );
        // Before the fix one side failed with "deadlock detected".
        await expect(cancel).resolves.toBeUndefined();
        expect(refused).toBeInstanceOf(ConflictError);
        expect((refused as Error).message).toBe(
          'Only a failed issuance can be retried; this one is cancelled',
        );
      } finally {
        deps.db = db;
      }
      expect(await srv.rt.services.issuance.jobs.get(jobId)).toMatchObject({
        status: 'cancelled',
        attempt: 1,
      });
      expect((await srv.rt.services.devices.get(device.id)).state).toBe('awaiting_recycle');
    });

    it('a Recycle while a Cancel locks the failed job and then its device: no deadlock, both commit in turn', async () => {
      const reader = 'Reader recycle lock order';
      const serial = '41000003';
      cards.addCard(reader, Number(serial));
      const device = await srv.rt.services.devices.register(admin, { serial, type: 'piv_card' });
      await srv.rt.db.query(
        `UPDATE devices SET state = 'issuing', user_id = $1, policy_id = $2 WHERE id = $3`,
        [alice.id, ecc.id, device.id],
      );
      const [row] = await srv.rt.db.query<{ id: string }>(
        `INSERT INTO issuance_jobs (device_id, user_id, policy_id, status, options)
         VALUES ($1, $2, $3, 'running', $4) RETURNING id`,
        [
          device.id,
          alice.id,
          ecc.id,
          JSON.stringify({
            action: 'issue',
            pinMode: 'displayed',
            agentId: TEST_AGENT_ID,
            reader,
            changePinAtEnd: false,
          }),
        ],
      );
      const jobId = row!.id;
      expect(await srv.rt.services.issuance.interrupted.recover()).toBe(1);
      const recycle = srv.rt.services.issuance.recycle;
      const deps = (recycle as unknown as { deps: { db: Db } }).deps;
      const db = deps.db;
      let cancel: Promise<void> | undefined;
      // The Cancel takes the job just as the recycle's transaction begins.
      deps.db = new Proxy(db, {
        get(target, key) {
          if (key === 'transaction')
            return async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
              let holds!: () => void;
              const held = new Promise<void>((r) => (holds = r));
              cancel = cancelWhileWaitedFor(db, jobId, holds);
              await held;
              return target.transaction(fn);
            };
          const v = Reflect.get(target, key) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      try {
        const recycled = await recycle.recycle(admin, device.id, { agentId: TEST_AGENT_ID, reader });
        // Before the fix one side failed with "deadlock detected".
        await expect(cancel).resolves.toBeUndefined();
        expect(recycled).toMatchObject({ state: 'inventory', userId: null });
      } finally {
        deps.db = db;
      }
      expect(await srv.rt.services.issuance.jobs.get(jobId)).toMatchObject({ status: 'cancelled' });
    });
  },
);

/**
 * Cancel (issuance-cancel.ts) of a failed job: the job locked (then `holds()`), and once another
 * transaction waits for that lock, the device locked and moved, the job ended.
 */
async function cancelWhileWaitedFor(db: Db, jobId: string, holds: () => void): Promise<void> {
  await db.transaction(async (tx) => {
    const job = (await getJob(tx, jobId, true))!;
    const [me] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    holds();
    while (
      (
        await db.query('SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [
          Number(me!.pid),
        ])
      ).length === 0
    )
      await new Promise((r) => setTimeout(r, 10));
    const at = new Date();
    const d = (await getDevice(tx, job.deviceId, true))!;
    await moveDevice(tx, d, 'cancel', { userId: null, policyId: null }, at);
    await finishJob(tx, jobId, 'cancelled', job.error, at);
  });
}
