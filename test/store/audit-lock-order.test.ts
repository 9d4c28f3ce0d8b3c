// A statement that appends to the audit chain with its other writes (auditChain: the CA's group
// commit, an issuance's start) locks the chain's head last. PostgreSQL checks a statement's foreign
// keys at its end, so without locking what they refer to first, such a statement would hold the
// head while it waits for a row another transaction holds — a content signer's rotation holds its
// CA, a policy's or a person's edit their row — and that transaction then waits for the head to
// append its own event: a deadlock (one of them fails after deadlock_timeout, and every audit
// append waits meanwhile). Here each holder appends only once the statement waits for it: both
// commit, and the chain verifies. PostgreSQL only (PGlite has one connection: no concurrency; the
// same statements run on both engines in their own suites).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { appendAudit, verifyAudit, type AuditInput } from '../../src/store/audit-repo.js';
import { lockCaForContentSigner } from '../../src/store/content-signer-repo.js';
import type { Queryable } from '../../src/store/db.js';
import { insertDevice } from '../../src/store/devices-repo.js';
import { moveAndStart, registerAndStart, type IssuanceStart } from '../../src/store/issuance-start-writer.js';
import { getPolicy, insertPolicy } from '../../src/store/policies-repo.js';
import { getUser, insertUser } from '../../src/store/users-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { testPki } from '../pki/fixtures.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const at = new Date('2026-11-01T10:00:00.000Z');
const event = (action: string, targetId: string): AuditInput => ({
  actor: { id: null, name: 'Ada Admin' },
  action,
  targetType: 'device',
  targetId,
  at,
});

const engineList = await engines();
describe.runIf(engineList.includes('postgres'))(
  'the audit head is the last lock of a statement (postgres)',
  () => {
    let t: TestDb;
    let pki: Pki;
    let userId: string;
    let policyId: string;

    beforeAll(async () => {
      t = await openTestDb('postgres');
      pki = testPki(t.db, { now: () => at });
      await pki.cas.ensureHierarchy();
      userId = (await insertUser(t.db, { username: 'lou', displayName: 'Lou', roles: ['user'], at })).id;
      policyId = (await insertPolicy(t.db, DEMO_POLICIES[0]!, at)).id;
    });
    afterAll(async () => t?.drop());

    /**
     * A transaction that locks rows as `lock` does, then (once released) appends its own event and
     * commits, as a rotation or an edit does.
     */
    function holder(lock: (tx: Queryable) => Promise<unknown>) {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let pidOf!: (pid: number) => void;
      const pid = new Promise<number>((r) => (pidOf = r));
      const done = t.db.transaction(async (tx) => {
        await lock(tx);
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        pidOf(Number(row!.pid));
        await released;
        await appendAudit(tx, event('test.holder', randomUUID()));
      });
      return { pid, release, done };
    }

    /** Runs `statement` while `h` holds its rows; lets `h` append once the statement waits for it. */
    async function meanwhile<T>(h: ReturnType<typeof holder>, statement: () => Promise<T>): Promise<T> {
      const pid = await h.pid;
      let settled = false;
      const run = statement().finally(() => (settled = true));
      run.catch(() => undefined);
      // Waits for h's locks (the statement holds no rows h needs until then): no timing involved.
      while (!settled) {
        const waiting = await t.db.query(
          'SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))',
          [pid],
        );
        if (waiting.length) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      h.release();
      await h.done;
      return run;
    }

    it("a certificate group while a content signer's rotation holds the CA and appends: both commit", async () => {
      const device = await insertDevice(t.db, { serial: `L-${randomUUID()}`, type: 'piv_card', at });
      const rotation = holder(async (tx) => {
        for (const { id } of await tx.query<{ id: string }>('SELECT id FROM cas ORDER BY id'))
          await lockCaForContentSigner(tx, id);
      });
      const cert = await meanwhile(rotation, () =>
        pki.issuer.issueForPublicKey(
          admin,
          {
            user: { id: userId, username: 'lou', displayName: 'Lou', email: null, upn: null, properties: {} },
            profile: {
              name: 'PIV Authentication',
              certificateProfile: 'piv_authentication',
              keyAlgorithm: 'ECCP256',
              validityDays: 30,
              slot: '9a',
            },
            deviceId: device.id,
            newCredential: { policyId, profile: 'PIV Authentication' },
          },
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
            type: 'spki',
            format: 'der',
          }),
          () => true,
        ),
      );
      expect(cert.credentialId).toBeTruthy();
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });

    const startOf = (deviceId: string): IssuanceStart => {
      const jobId = randomUUID();
      return {
        job: { id: jobId, deviceId, userId, policyId, startedBy: null, options: {}, at, owner: null },
        secrets: [{ kind: 'initial_pin', encrypted: new Uint8Array([1, 2, 3]) }],
        audit: { ...event('issuance.started', deviceId), details: { jobId } },
      };
    };

    it("a card registered and started while its policy's edit holds the policy and appends: both commit", async () => {
      const id = randomUUID();
      const edit = holder((tx) => getPolicy(tx, policyId, true));
      const started = await meanwhile(edit, () =>
        registerAndStart(
          t.db,
          {
            device: {
              id,
              serial: `L-${id}`,
              type: 'piv_card',
              at,
              moved: { state: 'issuing', userId, policyId },
            },
            audit: event('device.registered', id),
          },
          startOf(id),
        ),
      );
      expect(started).toMatchObject({ device: { id, state: 'issuing' }, job: { deviceId: id } });
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });

    it("a card moved and started while the person's edit holds their row and appends: both commit", async () => {
      const device = await insertDevice(t.db, { serial: `L-${randomUUID()}`, type: 'piv_card', at });
      const edit = holder((tx) => getUser(tx, userId, true));
      const started = await meanwhile(edit, () =>
        moveAndStart(
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
          startOf(device.id),
        ),
      );
      expect(started).toMatchObject({ device: { id: device.id, state: 'issuing', userId } });
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });
  },
);
