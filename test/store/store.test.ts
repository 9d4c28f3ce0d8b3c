// The store on both engines: the same SQL, the same answers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appendAudit, listAudit, verifyAudit } from '../../src/store/audit-repo.js';
import { getDevice, insertDevice, searchDevices, updateDevice } from '../../src/store/devices-repo.js';
import {
  insertCredential,
  installCredential,
  listDeviceCredentials,
} from '../../src/store/credentials-repo.js';
import {
  claimOrphanedJobs,
  finishJob,
  getJob,
  insertJob,
  mergeJobOptions,
  restartJob,
} from '../../src/store/jobs-repo.js';
import { registerInstance, stopInstance } from '../../src/store/instances-repo.js';
import { getDeviceSecret, putDeviceSecret } from '../../src/store/device-secrets-repo.js';
import { writeStart } from '../../src/store/issuance-start-writer.js';
import { JobProgressWriter } from '../../src/store/job-progress-writer.js';
import { insertPolicy, getPolicy, getUserAndPolicy } from '../../src/store/policies-repo.js';
import { insertRequest, updateRequestState } from '../../src/store/requests-repo.js';
import { getSetting, putSetting } from '../../src/store/settings-repo.js';
import {
  getSession,
  getSessionWithUser,
  insertSession,
  deleteExpiredSessions,
} from '../../src/store/sessions-repo.js';
import { isUniqueViolation } from '../../src/store/sql.js';
import {
  getUser,
  getUserByUsername,
  insertUser,
  searchUsers,
  updateUser,
} from '../../src/store/users-repo.js';
import { migrate } from '../../src/store/migrate.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const at = new Date('2026-11-01T10:00:00.000Z');

for (const engine of await engines()) {
  describe(`store on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await openTestDb(engine);
    });
    afterAll(async () => t?.drop());

    /** A running job of person p1 on a new card `serial`, owned by `owner`; its id. */
    const runningJob = async (serial: string, owner: string | null = null): Promise<string> => {
      const user = (await getUserByUsername(t.db, 'p1'))!;
      const policy = (await t.db.query<{ id: string }>('SELECT id FROM device_policies LIMIT 1'))[0]!;
      const dev = await insertDevice(t.db, { serial, type: 'piv_card', at });
      const job = await insertJob(t.db, {
        deviceId: dev.id,
        userId: user.id,
        policyId: policy.id,
        startedBy: user.id,
        options: {},
        at,
        owner,
      });
      return job.id;
    };

    /** Three running jobs of person p1, on new cards `${prefix}-1` to `${prefix}-3`. */
    const runningJobs = async (prefix: string): Promise<string[]> => {
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await runningJob(`${prefix}-${n}`));
      return ids;
    };

    it('migrations are recorded and re-running them applies nothing', async () => {
      expect(await migrate(t.db)).toEqual([]);
      const rows = await t.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      expect(rows.map((r) => r.name)[0]).toBe('001_foundation.sql');
    });

    it('users: insert, case-insensitive unique username, search with pagination, update', async () => {
      const a = await insertUser(t.db, {
        username: 'Ada',
        displayName: 'Ada Lovelace',
        email: 'ada@x.org',
        roles: ['user'],
        properties: { dept: 'Math' },
        at,
      });
      expect(a).toMatchObject({
        username: 'Ada',
        state: 'active',
        roles: ['user'],
        properties: { dept: 'Math' },
        source: 'local',
      });
      await expect(
        insertUser(t.db, { username: 'ada', displayName: 'dup', roles: ['user'], at }),
      ).rejects.toSatisfy(isUniqueViolation);
      for (let i = 0; i < 5; i++)
        await insertUser(t.db, { username: `p${i}`, displayName: `Person ${i}`, roles: ['helpdesk'], at });
      const page = await searchUsers(t.db, { role: 'helpdesk', limit: 2, offset: 2 });
      expect(page.total).toBe(5);
      expect(page.items.map((u) => u.username)).toEqual(['p2', 'p3']);
      expect((await searchUsers(t.db, { q: 'LOVE', limit: 10, offset: 0 })).items.map((u) => u.id)).toEqual([
        a.id,
      ]);
      expect((await searchUsers(t.db, { q: '100%_', limit: 10, offset: 0 })).total).toBe(0);
      const u = await updateUser(t.db, a.id, { state: 'suspended', roles: ['user', 'admin'] }, at);
      expect(u).toMatchObject({ state: 'suspended', roles: ['user', 'admin'] });
      expect((await getUserByUsername(t.db, 'ADA'))?.id).toBe(a.id);
    });

    it('devices, policies and credentials shared by two devices', async () => {
      const user = (await getUserByUsername(t.db, 'p0'))!;
      const policy = await insertPolicy(t.db, DEMO_POLICIES[0]!, at);
      expect((await getPolicy(t.db, policy.id))?.credentialProfiles).toHaveLength(4);
      const card = await insertDevice(t.db, { serial: 'S-1', type: 'piv_card', at });
      const phone = await insertDevice(t.db, { serial: 'M-1', type: 'mobile', at });
      await expect(insertDevice(t.db, { serial: 's-1', type: 'piv_card', at })).rejects.toSatisfy(
        isUniqueViolation,
      );
      await updateDevice(
        t.db,
        card.id,
        { state: 'active', userId: user.id, policyId: policy.id, issuedAt: at },
        at,
      );
      expect(await getDevice(t.db, card.id)).toMatchObject({
        state: 'active',
        userId: user.id,
        issuedAt: at.toISOString(),
      });
      const cred = await insertCredential(t.db, {
        userId: user.id,
        policyId: policy.id,
        profile: 'Key Management',
        slot: '9d',
        deviceId: card.id,
        at,
      });
      // Installed a second later: deviceIds lists the devices in the order they received it.
      await installCredential(t.db, cred.id, phone.id, new Date(at.getTime() + 1000));
      expect((await listDeviceCredentials(t.db, phone.id))[0]?.deviceIds).toEqual([card.id, phone.id]);
      expect((await searchDevices(t.db, { userId: user.id, limit: 10, offset: 0 })).total).toBe(1);
    });

    it('requests and issuance jobs; running jobs of a dead server are claimed', async () => {
      const user = (await getUserByUsername(t.db, 'p1'))!;
      const policy = (await t.db.query<{ id: string }>('SELECT id FROM device_policies LIMIT 1'))[0]!;
      const dev = await insertDevice(t.db, { serial: 'J-1', type: 'piv_card', at });
      const req = await insertRequest(t.db, {
        kind: 'issuance',
        workflow: 'local_issuance',
        state: 'submitted',
        userId: user.id,
        submittedBy: user.id,
        at,
      });
      expect(
        (await updateRequestState(t.db, req.id, 'approved', { column: 'approved_by', userId: user.id }, at))
          .approvedBy,
      ).toBe(user.id);
      const job = await insertJob(t.db, {
        deviceId: dev.id,
        userId: user.id,
        policyId: policy.id,
        startedBy: user.id,
        options: { pinMode: 'displayed' },
        at,
        owner: null,
      });
      const claimed = await t.db.transaction((tx) => claimOrphanedJobs(tx, randomUUID(), true));
      expect(claimed.map((j) => j.id)).toContain(job.id);
      const failed = await finishJob(
        t.db,
        job.id,
        'failed',
        { code: 'interrupted', message: 'server stopped', correlationId: 'c' },
        at,
      );
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
      const me = randomUUID();
      expect(await restartJob(t.db, job.id, at, me)).toMatchObject({
        status: 'running',
        attempt: 2,
        error: null,
        ownerInstance: me,
      });
    });

    it('job progress written together: never backwards, the newest step wins, an ended job is left alone', async () => {
      const ids = await runningJobs('P');
      const [a, b, c] = ids as [string, string, string];
      await finishJob(t.db, c, 'failed', { code: 'x', message: 'x', correlationId: 'c' }, at);
      const w = new JobProgressWriter(t.db);
      const later = new Date(at.getTime() + 5000);
      // Said at once: the first goes alone, the rest share the next statement; b's second replaces its first.
      await Promise.all([
        w.write({ id: a, attempt: 1 }, 10, 'Connect', later),
        w.write({ id: b, attempt: 1 }, 40, 'Generate', later),
        w.write({ id: b, attempt: 1 }, 30, 'Write', later),
        w.write({ id: c, attempt: 1 }, 50, 'Late', later),
        w.write({ id: a, attempt: 1 }, 20, 'Authenticate', later),
      ]);
      const rows = await t.db.query<{ id: string; progress: number; step: string }>(
        'SELECT id, progress, step FROM issuance_jobs WHERE id = ANY($1::uuid[])',
        [ids],
      );
      const byId = Object.fromEntries(rows.map((r) => [r.id, `${r.progress} ${r.step}`]));
      expect(byId).toEqual({ [a]: '20 Authenticate', [b]: '40 Write', [c]: '0 ' });
      await expect(w.write({ id: 'not-a-uuid', attempt: 1 }, 1, 'x', later)).rejects.toThrow();
      await w.write({ id: a, attempt: 1 }, 5, 'Again', later);
      expect(
        (await t.db.query<{ progress: number }>('SELECT progress FROM issuance_jobs WHERE id = $1', [a]))[0]
          ?.progress,
      ).toBe(20);
      // An options patch rides with a report: merged into that job's options only, kept when a newer
      // report of the same job replaces it, never written to an ended job.
      await mergeJobOptions(t.db, a, { reader: 'R1' });
      await Promise.all([
        w.write({ id: b, attempt: 1 }, 41, 'One', later),
        w.write({ id: a, attempt: 1 }, 30, 'Set the management key', later, { cardTouched: true }),
        w.write({ id: a, attempt: 1 }, 31, 'Newer', later),
        w.write({ id: c, attempt: 1 }, 60, 'Ended', later, { cardTouched: true }),
      ]);
      const opts = await t.db.query<{ id: string; options: Record<string, unknown>; step: string }>(
        'SELECT id, options, step FROM issuance_jobs WHERE id = ANY($1::uuid[])',
        [ids],
      );
      const optsById = Object.fromEntries(opts.map((r) => [r.id, [r.options, r.step]]));
      expect(optsById).toEqual({
        [a]: [{ reader: 'R1', cardTouched: true }, 'Newer'],
        [b]: [{}, 'One'],
        [c]: [{}, ''],
      });
    });

    it('job progress gathered for a window: the reports of several jobs in one statement after it', async () => {
      const ids = await runningJobs('G');
      const [a, b, c] = ids as [string, string, string];
      const sent: string[] = [];
      const counted = {
        query: <T extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => {
          sent.push(sql);
          return t.db.query<T>(sql, params);
        },
        exec: (sql: string) => t.db.exec(sql),
      };
      const steps = async () =>
        Object.fromEntries(
          (
            await t.db.query<{ id: string; step: string }>(
              'SELECT id, step FROM issuance_jobs WHERE id = ANY($1::uuid[])',
              [ids],
            )
          ).map((r) => [r.id, r.step]),
        );
      // Only setTimeout is faked: the window is the writer's timer, the statements are real.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const w = new JobProgressWriter(counted, { gatherMs: 50 });
        const later = new Date(at.getTime() + 5000);
        const first = w.write({ id: a, attempt: 1 }, 10, 'Connect', later);
        const second = w.write({ id: b, attempt: 1 }, 20, 'Generate', later);
        const replaced = w.write({ id: a, attempt: 1 }, 15, 'Authenticate', later);
        await Promise.resolve();
        expect(sent).toEqual([]);
        vi.advanceTimersByTime(49);
        expect(sent).toEqual([]);
        vi.advanceTimersByTime(1);
        await Promise.all([first, second, replaced]);
        expect(sent).toHaveLength(1);
        expect(await steps()).toEqual({ [a]: 'Authenticate', [b]: 'Generate', [c]: '' });
        // A report with options (one the run waits for) gathers the same way, its patch merged.
        const waiting = w.write({ id: c, attempt: 1 }, 30, 'Write', later);
        const touched = w.write({ id: b, attempt: 1 }, 40, 'Set the management key', later, {
          cardTouched: true,
        });
        await Promise.resolve();
        expect(sent).toHaveLength(1);
        vi.advanceTimersByTime(50);
        await Promise.all([waiting, touched]);
        expect(sent).toHaveLength(2);
        expect(await steps()).toEqual({ [a]: 'Authenticate', [b]: 'Set the management key', [c]: 'Write' });
        const [opts] = await t.db.query<{ options: Record<string, unknown> }>(
          'SELECT options FROM issuance_jobs WHERE id = $1',
          [b],
        );
        expect(opts?.options).toEqual({ cardTouched: true });
      } finally {
        vi.useRealTimers();
      }
    });

    it('a person, a policy and a setting read in one statement, each as read alone; none where missing', async () => {
      const user = (await getUserByUsername(t.db, 'p1'))!;
      const policy = (await t.db.query<{ id: string }>('SELECT id FROM device_policies LIMIT 1'))[0]!;
      await putSetting(t.db, 'start-k', { mode: 'x' }, at);
      const both = await getUserAndPolicy(t.db, user.id, policy.id, 'start-k');
      expect(both.user).toEqual(await getUser(t.db, user.id));
      expect(both.policy).toEqual(await getPolicy(t.db, policy.id));
      expect(both.setting).toEqual({ mode: 'x' });
      expect(await getUserAndPolicy(t.db, user.id, null, 'start-none')).toEqual({
        user: both.user,
        policy: null,
        setting: undefined,
      });
      expect(await getUserAndPolicy(t.db, randomUUID(), policy.id, 'start-k')).toEqual({
        user: null,
        policy: both.policy,
        setting: { mode: 'x' },
      });
      expect(await getUserAndPolicy(t.db, randomUUID(), randomUUID(), 'start-none')).toEqual({
        user: null,
        policy: null,
        setting: undefined,
      });
    });

    it("an issuance's start (writeStart): the job, the device's secrets (replacing what it held) and its event in one statement, each read back as its repository maps it", async () => {
      const dev = await insertDevice(t.db, { serial: 'SECRETS-1', type: 'piv_card', at });
      await putDeviceSecret(t.db, dev.id, 'puk', Uint8Array.from([9]), at);
      const user = (await getUserByUsername(t.db, 'p1'))!;
      const policy = (await t.db.query<{ id: string }>('SELECT id FROM device_policies LIMIT 1'))[0]!;
      const id = randomUUID();
      const job = await t.db.transaction((tx) =>
        writeStart(tx, {
          job: {
            id,
            deviceId: dev.id,
            userId: user.id,
            policyId: policy.id,
            startedBy: null,
            options: { a: 1 },
            at,
            owner: null,
          },
          secrets: [
            { kind: 'initial_pin', encrypted: Uint8Array.from([1, 2]) },
            { kind: 'puk', encrypted: Uint8Array.from([3, 4, 5]) },
          ],
          audit: {
            actor: { id: null, name: 'x' },
            action: 'issuance.started',
            targetType: 'device',
            targetId: dev.id,
            details: { jobId: id },
            at,
          },
        }),
      );
      expect(job).toEqual(await getJob(t.db, id));
      expect(job).toMatchObject({
        deviceId: dev.id,
        status: 'running',
        options: { a: 1 },
        awaitingOwner: false,
      });
      expect(Buffer.from((await getDeviceSecret(t.db, dev.id, 'initial_pin'))!)).toEqual(Buffer.from([1, 2]));
      expect(Buffer.from((await getDeviceSecret(t.db, dev.id, 'puk'))!)).toEqual(Buffer.from([3, 4, 5]));
      const [event] = (await listAudit(t.db, { targetId: dev.id, limit: 5, offset: 0 })).items;
      expect(event).toMatchObject({ action: 'issuance.started', details: { jobId: id } });
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });

    it('only the jobs of instances whose lease ran out (or that stopped) are claimed, each by one claimer', async () => {
      await t.db.query(`UPDATE issuance_jobs SET status = 'failed' WHERE status = 'running'`);
      const [alive, expired, stopped, me] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      await registerInstance(t.db, { id: alive, name: 'a', pid: 1, version: 'v', leaseSeconds: 600 });
      await registerInstance(t.db, { id: stopped, name: 's', pid: 2, version: 'v', leaseSeconds: 600 });
      await stopInstance(t.db, stopped);
      await registerInstance(t.db, { id: expired, name: 'e', pid: 3, version: 'v', leaseSeconds: 1 });
      await t.db.query(
        `UPDATE server_instances SET lease_until = now() - interval '1 second' WHERE id = $1`,
        [expired],
      );
      const jobs: Record<string, string> = {};
      for (const [name, owner] of [
        ['alive', alive],
        ['expired', expired],
        ['stopped', stopped],
        ['mine', me],
        ['unknown', randomUUID()],
      ] as const) {
        jobs[name] = await runningJob(`L-${name}`, owner);
      }
      const names = (ids: string[]) =>
        Object.entries(jobs)
          .filter(([, id]) => ids.includes(id))
          .map(([n]) => n)
          .sort();
      // Trusting leases (PostgreSQL): the alive instance's job and my own stay.
      const claimed = await t.db.transaction(async (tx) =>
        (await claimOrphanedJobs(tx, me, true)).map((j) => j.id),
      );
      expect(names(claimed)).toEqual(['expired', 'stopped', 'unknown']);
      // One process (PGlite): every other owner is gone.
      const all = await t.db.transaction(async (tx) =>
        (await claimOrphanedJobs(tx, me, false)).map((j) => j.id),
      );
      expect(names(all)).toEqual(['alive', 'expired', 'stopped', 'unknown']);
      if (t.engine === 'postgres') {
        // Two sweepers at once: the second skips what the first holds.
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let first: string[] = [];
        const firstTx = t.db.transaction(async (tx) => {
          first = (await claimOrphanedJobs(tx, me, true)).map((j) => j.id);
          await held;
        });
        while (first.length === 0) await new Promise((r) => setTimeout(r, 10));
        const second = await t.db.transaction(async (tx) =>
          (await claimOrphanedJobs(tx, me, true)).map((j) => j.id),
        );
        release();
        await firstTx;
        expect(names(first)).toEqual(['expired', 'stopped', 'unknown']);
        expect(second).toEqual([]);
      }
      await t.db.query(`UPDATE issuance_jobs SET status = 'failed' WHERE status = 'running'`);
    });

    it('settings and sessions', async () => {
      await putSetting(t.db, 'k', { a: 1 }, at);
      await putSetting(t.db, 'k', { a: 2 }, at);
      expect(await getSetting(t.db, 'k')).toEqual({ a: 2 });
      const user = (await getUserByUsername(t.db, 'p2'))!;
      await insertSession(t.db, {
        id: 'h1',
        userId: user.id,
        kind: 'operator',
        csrfToken: 'c',
        authMethod: 'password',
        createdAt: at,
        lastSeenAt: at,
        expiresAt: new Date(at.getTime() + 1000),
        data: {},
      });
      expect((await getSession(t.db, 'h1'))?.userId).toBe(user.id);
      // Read with its person in one statement: the same session, the same user as getUser reads.
      const both = await getSessionWithUser(t.db, 'h1');
      expect(both?.session).toEqual(await getSession(t.db, 'h1'));
      expect(both?.user).toEqual(await getUser(t.db, user.id));
      expect(await getSessionWithUser(t.db, 'nope')).toBeNull();
      expect(await deleteExpiredSessions(t.db, new Date(at.getTime() + 2000))).toBe(1);
    });

    it('a failed transaction leaves nothing behind, audit event included', async () => {
      const before = await verifyAudit(t.db);
      await expect(
        t.db.transaction(async (tx) => {
          await insertUser(tx, { username: 'ghost', displayName: 'Ghost', roles: ['user'], at });
          await appendAudit(tx, {
            actor: { id: null, name: 't' },
            action: 'user.created',
            targetType: 'user',
            at,
          });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await getUserByUsername(t.db, 'ghost')).toBeNull();
      expect(await verifyAudit(t.db)).toEqual(before);
    });

    it('audit chain: concurrent appends chain in order and verify', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.db.transaction((tx) =>
            appendAudit(tx, {
              actor: { id: null, name: 'load' },
              action: 'x',
              targetType: 't',
              targetId: String(i),
              details: { i, nested: { b: 1, a: [1, 'é'] } },
              at,
            }),
          ),
        ),
      );
      const v = await verifyAudit(t.db);
      expect(v.ok).toBe(true);
      expect(v.checked).toBeGreaterThanOrEqual(20);
    });
  });
}
