// A card's guarded move and start (moveAndStart, docs/decisions/0039) must not start a card that an
// open request names as its replacement: such a card serves that request. The statement checks the
// requests in its snapshot, so a bind that locks the card, binds it to the same person and names
// it in their request, and commits while the statement waits for the card, was not seen — the card
// was started as an ordinary issuance. Here the bind waits for the statement to wait for it: the
// statement must move nothing (the starter's transaction then finds the request). PostgreSQL only
// (PGlite has one connection: no concurrency; moveAndStart runs on both in the start's suites).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import type { AuditInput } from '../../src/store/audit-repo.js';
import { getDevice, insertDevice } from '../../src/store/devices-repo.js';
import { moveAndStart } from '../../src/store/issuance-start-writer.js';
import { insertPolicy } from '../../src/store/policies-repo.js';
import { insertRequest, updateRequest } from '../../src/store/requests-repo.js';
import { insertUser } from '../../src/store/users-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';

const at = new Date('2026-11-01T10:00:00.000Z');
const event = (action: string, targetId: string): AuditInput => ({
  actor: { id: null, name: 'Ada Admin' },
  action,
  targetType: 'device',
  targetId,
  at,
});

describe.runIf((await engines()).includes('postgres'))(
  'a guarded start beside a bind that names the card in a request (postgres)',
  () => {
    let t: TestDb;
    let userId: string;
    let policyId: string;

    beforeAll(async () => {
      t = await openTestDb('postgres');
      userId = (await insertUser(t.db, { username: 'lou', displayName: 'Lou', roles: ['user'], at })).id;
      policyId = (await insertPolicy(t.db, DEMO_POLICIES[0]!, at)).id;
    });
    afterAll(async () => t?.drop());

    it('the card bound and named by the person’s request while the start waits for it: nothing moves, nothing is written', async () => {
      const device = await insertDevice(t.db, { serial: `R-${randomUUID()}`, type: 'piv_card', at });
      const request = await insertRequest(t.db, {
        kind: 'replacement',
        workflow: 'self_enrollment',
        state: 'approved',
        userId,
        policyId,
        submittedBy: null,
        at,
      });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let pidOf!: (pid: number) => void;
      const pid = new Promise<number>((r) => (pidOf = r));
      // The bind (replacement/bind.ts): the card locked and bound to lou, then named by the request.
      const bind = t.db.transaction(async (tx) => {
        await getDevice(tx, device.id, true);
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        pidOf(Number(row!.pid));
        await tx.query(`UPDATE devices SET state = 'bound', user_id = $2, policy_id = $3 WHERE id = $1`, [
          device.id,
          userId,
          policyId,
        ]);
        await updateRequest(tx, request.id, { state: 'bound', replacementDeviceId: device.id }, at);
        await released;
      });
      const holder = await pid;
      const jobId = randomUUID();
      const started = moveAndStart(
        t.db,
        {
          deviceId: device.id,
          from: ['inventory', 'bound'],
          to: 'issuing',
          types: ['piv_card'],
          userId,
          policyId,
          unlessRequested: true,
        },
        {
          job: {
            id: jobId,
            deviceId: device.id,
            userId,
            policyId,
            startedBy: null,
            options: {},
            at,
            owner: null,
          },
          secrets: [{ kind: 'initial_pin', encrypted: new Uint8Array([1, 2, 3]) }],
          audit: { ...event('issuance.started', device.id), details: { jobId } },
        },
      );
      started.catch(() => undefined);
      // The statement waits for the bind's lock on the card (no timing involved).
      while (
        (
          await t.db.query('SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [
            holder,
          ])
        ).length === 0
      )
        await new Promise((r) => setTimeout(r, 10));
      release();
      await bind;
      expect(await started).toBeNull();
      expect(await getDevice(t.db, device.id)).toMatchObject({ state: 'bound', userId, policyId });
      expect(await t.db.query('SELECT 1 FROM issuance_jobs WHERE id = $1', [jobId])).toHaveLength(0);
      expect(await t.db.query('SELECT 1 FROM device_secrets WHERE device_id = $1', [device.id])).toHaveLength(
        0,
      );
    });

    it('a card nobody touched meanwhile is still moved and started by the statement', async () => {
      const device = await insertDevice(t.db, { serial: `R-${randomUUID()}`, type: 'piv_card', at });
      const jobId = randomUUID();
      const started = await moveAndStart(
        t.db,
        {
          deviceId: device.id,
          from: ['inventory', 'bound'],
          to: 'issuing',
          types: ['piv_card'],
          userId,
          policyId,
          unlessRequested: true,
        },
        {
          job: {
            id: jobId,
            deviceId: device.id,
            userId,
            policyId,
            startedBy: null,
            options: {},
            at,
            owner: null,
          },
          secrets: [{ kind: 'initial_pin', encrypted: new Uint8Array([1, 2, 3]) }],
          audit: { ...event('issuance.started', device.id), details: { jobId } },
        },
      );
      expect(started).toMatchObject({
        device: { id: device.id, state: 'issuing', userId },
        job: { id: jobId },
      });
    });
  },
);
