// An issuance's success in one statement (store/issuance-success-writer.ts), on both engines: each
// part as its own repository reads it back; a device that left issuing meanwhile leaves everything
// as it was (nothing half-written); on PostgreSQL the job's word the statement carries is heard by
// another server at its commit, and never when it rolls back or wrote nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceMachine } from '../../src/domain/device.js';
import { LocalBus, PgBus } from '../../src/services/cluster/bus.js';
import { JobProgress } from '../../src/services/issuance/job-progress.js';
import { listAudit, verifyAudit, type AuditInput } from '../../src/store/audit-repo.js';
import { getDeviceConformance } from '../../src/store/device-conformance-repo.js';
import { getDeviceSecret, putDeviceSecrets } from '../../src/store/device-secrets-repo.js';
import { getDevice, insertDevice } from '../../src/store/devices-repo.js';
import { finishJob, getJob, insertJob, restartJob } from '../../src/store/jobs-repo.js';
import { writeIssuanceSuccess, type IssuanceSuccess } from '../../src/store/issuance-success-writer.js';
import { JobProgressWriter } from '../../src/store/job-progress-writer.js';
import { insertPolicy } from '../../src/store/policies-repo.js';
import { insertUser } from '../../src/store/users-repo.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { until } from '../agent/support.js';

const at = new Date('2026-11-01T10:00:00.000Z');
const later = new Date('2026-11-01T10:05:00.000Z');
const rule = deviceMachine.table.succeed;

for (const engine of await engines()) {
  describe(`an issuance's success in one statement, on ${engine}`, () => {
    let t: TestDb;
    let userId: string;
    let policyId: string;
    let n = 0;
    beforeAll(async () => {
      t = await openTestDb(engine);
      userId = (await insertUser(t.db, { username: 'sx', displayName: 'S X', roles: ['user'], at })).id;
      policyId = (await insertPolicy(t.db, DEMO_POLICIES[0]!, at)).id;
    });
    afterAll(async () => t?.drop());

    /** A device issuing for a running job, with its initial PIN and PUK stored. */
    async function issuing(state: 'issuing' | 'failed' = 'issuing') {
      const device = await insertDevice(t.db, {
        serial: `SUCC-${++n}`,
        type: 'piv_card',
        at,
        moved: { state, userId, policyId },
      });
      const job = await insertJob(t.db, {
        deviceId: device.id,
        userId,
        policyId,
        startedBy: null,
        options: { pinMode: 'displayed' },
        at,
        owner: null,
      });
      await putDeviceSecrets(
        t.db,
        device.id,
        [
          { kind: 'initial_pin', encrypted: new Uint8Array([1, 2, 3]) },
          { kind: 'puk', encrypted: new Uint8Array([4, 5, 6]) },
        ],
        at,
      );
      return { device, job };
    }

    const success = (
      ids: { device: { id: string }; job: { id: string } },
      more: Partial<IssuanceSuccess> = {},
    ): IssuanceSuccess => ({
      jobId: ids.job.id,
      attempt: 1,
      deviceId: ids.device.id,
      move: {
        from: rule.from,
        to: rule.to,
        issuedAt: later,
        expiresAt: new Date('2029-11-01T10:05:00.000Z'),
      },
      conformance: { report: { objects: [{ name: 'CHUID', ok: true }] }, at: later },
      dropInitialPin: true,
      jobOptions: { pinChangePending: true },
      audit: {
        actor: { id: null, name: 'system' },
        action: 'issuance.succeeded',
        targetType: 'device',
        targetId: ids.device.id,
        details: { jobId: ids.job.id, certificates: 3, note: 'ü "quoted"' },
        correlationId: 'corr-1',
        at: later,
      } satisfies AuditInput,
      notify: null,
      at: later,
      ...more,
    });

    it('writes every part, each as its own repository reads it', async () => {
      const ids = await issuing();
      const done = (await writeIssuanceSuccess(t.db, success(ids)))!;
      expect(done.device).toEqual(await getDevice(t.db, ids.device.id));
      expect(done.device).toMatchObject({ state: 'active', issuedAt: later.toISOString() });
      expect(done.job).toEqual(await getJob(t.db, ids.job.id));
      expect(done.job).toMatchObject({
        status: 'succeeded',
        progress: 100,
        finishedAt: later.toISOString(),
        options: { pinMode: 'displayed', pinChangePending: true },
      });
      expect(await getDeviceConformance(t.db, ids.device.id)).toEqual({
        objects: [{ name: 'CHUID', ok: true }],
      });
      expect(await getDeviceSecret(t.db, ids.device.id, 'initial_pin')).toBeNull();
      expect(await getDeviceSecret(t.db, ids.device.id, 'puk')).not.toBeNull();
      const { items } = await listAudit(t.db, { targetId: ids.device.id, limit: 10, offset: 0 });
      expect(items).toEqual([done.audit]);
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });

    it('keeps the PIN and writes no report when told so', async () => {
      const ids = await issuing();
      await writeIssuanceSuccess(
        t.db,
        success(ids, { dropInitialPin: false, conformance: null, jobOptions: null }),
      );
      expect(await getDeviceSecret(t.db, ids.device.id, 'initial_pin')).not.toBeNull();
      expect(await getDeviceConformance(t.db, ids.device.id)).toBeNull();
      expect((await getJob(t.db, ids.job.id))!.options).toEqual({ pinMode: 'displayed' });
    });

    it('a device no longer issuing: no row, and nothing written at all', async () => {
      const ids = await issuing('failed');
      const head = await t.db.query('SELECT seq, hash FROM audit_head');
      expect(await writeIssuanceSuccess(t.db, success(ids))).toBeNull();
      expect(await getDevice(t.db, ids.device.id)).toEqual(ids.device);
      expect(await getJob(t.db, ids.job.id)).toEqual(ids.job);
      expect(await getDeviceSecret(t.db, ids.device.id, 'initial_pin')).not.toBeNull();
      expect(await getDeviceConformance(t.db, ids.device.id)).toBeNull();
      expect(await t.db.query('SELECT seq, hash FROM audit_head')).toEqual(head);
      expect((await listAudit(t.db, { targetId: ids.device.id, limit: 10, offset: 0 })).items).toEqual([]);
    });

    /** Everything as it was: device, job, PIN, report, chain head, no event for the device. */
    async function unchanged(ids: Awaited<ReturnType<typeof issuing>>, head: unknown) {
      expect(await getDevice(t.db, ids.device.id)).toEqual(ids.device);
      expect(await getJob(t.db, ids.job.id)).toEqual(ids.job);
      expect(await getDeviceSecret(t.db, ids.device.id, 'initial_pin')).not.toBeNull();
      expect(await getDeviceConformance(t.db, ids.device.id)).toBeNull();
      expect(await t.db.query('SELECT seq, hash FROM audit_head')).toEqual(head);
      expect((await listAudit(t.db, { targetId: ids.device.id, limit: 10, offset: 0 })).items).toEqual([]);
    }

    it('attempt 1 ended elsewhere and the job retried (attempt 2 runs, device issuing): attempt 1’s success writes nothing', async () => {
      const ids = await issuing();
      // A recovery sweep failed attempt 1 (the device back to issuing by the retry), then Retry.
      await finishJob(t.db, ids.job.id, 'failed', null, at);
      const retried = { ...ids, job: await restartJob(t.db, ids.job.id, at, null) };
      expect(retried.job).toMatchObject({ status: 'running', attempt: 2 });
      const head = await t.db.query('SELECT seq, hash FROM audit_head');
      expect(await writeIssuanceSuccess(t.db, success(retried, { attempt: 1 }))).toBeNull();
      await unchanged(retried, head);
      // Attempt 2's own success still applies.
      expect(await writeIssuanceSuccess(t.db, success(retried, { attempt: 2 }))).toMatchObject({
        job: { status: 'succeeded', attempt: 2 },
        device: { state: 'active' },
      });
    });

    it('progress of attempt 1 on a job retried elsewhere (attempt 2): not written; attempt 2’s is', async () => {
      const ids = await issuing();
      await finishJob(t.db, ids.job.id, 'failed', null, at);
      const retried = await restartJob(t.db, ids.job.id, at, null);
      const w = new JobProgressWriter(t.db);
      await w.write({ id: ids.job.id, attempt: 1 }, 60, 'Stale', later, { cardTouched: true });
      expect(await getJob(t.db, ids.job.id)).toEqual(retried);
      await w.write(retried, 10, 'Connect', later);
      expect(await getJob(t.db, ids.job.id)).toMatchObject({ attempt: 2, progress: 10, step: 'Connect' });
    });

    it('attempt 1 failed elsewhere, device still issuing: its success writes nothing', async () => {
      const ids = await issuing();
      const ended = { ...ids, job: await finishJob(t.db, ids.job.id, 'failed', null, at) };
      const head = await t.db.query('SELECT seq, hash FROM audit_head');
      expect(await writeIssuanceSuccess(t.db, success(ended))).toBeNull();
      await unchanged(ended, head);
    });

    it('one process (PGlite, or no bus on PostgreSQL): the word is said here after the commit', async () => {
      const bus = new LocalBus();
      const heard: string[] = [];
      bus.subscribe('job', (p, here) => heard.push(`${p} ${here}`));
      const word = new JobProgress(bus).carry('j-1');
      expect(word.notify).toBeNull();
      expect(heard).toEqual([]);
      word.here();
      expect(heard).toEqual(['j-1 true']);
    });

    if (engine === 'postgres')
      describe('the job word on the NOTIFY channel', () => {
        let a: PgBus;
        let b: PgBus;
        const onB: string[] = [];
        const onA: string[] = [];
        beforeAll(async () => {
          a = await PgBus.open(t.db.notifications!, 'server-a');
          b = await PgBus.open(t.db.notifications!, 'server-b');
          a.subscribe('job', (p, here) => onA.push(`${p} ${here}`));
          b.subscribe('job', (p, here) => onB.push(`${p} ${here}`));
        });
        afterAll(async () => {
          await a?.close();
          await b?.close();
        });

        it('carried by the statement: heard on B at its commit, here when A is told it committed', async () => {
          const ids = await issuing();
          const word = new JobProgress(a).carry(ids.job.id);
          expect(word.notify?.channel).toBe(t.db.notifications!.channel);
          await writeIssuanceSuccess(t.db, success(ids, { notify: word.notify }));
          await until('B hears the job end', () => onB.includes(`${ids.job.id} false`));
          // B reads the job it heard of: ended.
          expect((await getJob(t.db, ids.job.id))!.status).toBe('succeeded');
          expect(onA).toEqual([]);
          word.here();
          expect(onA).toEqual([`${ids.job.id} true`]);
        });

        it('inside a transaction: heard only after the commit, never after a rollback', async () => {
          const kept = await issuing();
          const keptWord = new JobProgress(a).carry(kept.job.id);
          await t.db.transaction(async (tx) => {
            await writeIssuanceSuccess(tx, success(kept, { notify: keptWord.notify }));
            // Long enough for a NOTIFY sent at once to arrive (the bus test's words take ~1 ms).
            await new Promise((r) => setTimeout(r, 150));
            expect(onB).not.toContain(`${kept.job.id} false`);
          });
          await until('B hears it once committed', () => onB.includes(`${kept.job.id} false`));

          const undone = await issuing();
          const undoneWord = new JobProgress(a).carry(undone.job.id);
          await expect(
            t.db.transaction(async (tx) => {
              await writeIssuanceSuccess(tx, success(undone, { notify: undoneWord.notify }));
              throw new Error('rolled back');
            }),
          ).rejects.toThrow('rolled back');
          expect((await getJob(t.db, undone.job.id))!.status).toBe('running');
          // A word said after the rollback arrives; the rolled-back one never did before it.
          a.publish('job', 'after-rollback');
          await until('B hears the later word', () => onB.includes('after-rollback false'));
          expect(onB).not.toContain(`${undone.job.id} false`);
        });

        it('progress: each written job’s word rides with the group’s statement; an ended job’s is not said', async () => {
          const running = await issuing();
          const ended = await issuing();
          await writeIssuanceSuccess(t.db, success(ended));
          const w = new JobProgressWriter(t.db);
          const words = [running, ended].map((x) => new JobProgress(a).carry(x.job.id));
          const before = onB.length;
          await Promise.all([
            w.write(running.job, 10, 'Connect', later, undefined, words[0]!.notify),
            w.write(ended.job, 20, 'Late', later, undefined, words[1]!.notify),
            w.write(running.job, 30, 'Generate', later, { cardTouched: true }, words[0]!.notify),
          ]);
          expect(await getJob(t.db, running.job.id)).toMatchObject({
            progress: 30,
            step: 'Generate',
            options: { cardTouched: true },
          });
          await until('B hears the running job', () => onB.includes(`${running.job.id} false`));
          a.publish('job', 'after-progress');
          await until('B hears the later word', () => onB.includes('after-progress false'));
          expect(onB.slice(before)).not.toContain(`${ended.job.id} false`);
        });

        it('a device no longer issuing: nothing said', async () => {
          const ids = await issuing('failed');
          const word = new JobProgress(a).carry(ids.job.id);
          expect(await writeIssuanceSuccess(t.db, success(ids, { notify: word.notify }))).toBeNull();
          a.publish('job', 'after-miss');
          await until('B hears the later word', () => onB.includes('after-miss false'));
          expect(onB).not.toContain(`${ids.job.id} false`);
        });
      });
  });
}
