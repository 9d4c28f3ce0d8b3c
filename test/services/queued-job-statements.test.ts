// The SQL statements the holder sends for a job queued to it by another server (issue #20): the
// claim alone, which also reads what the run needs (the job, its device, policy and person, and
// the PIN and PUK the start stored), handed to the run as a start on the same server hands it
// over, so the run reads none of it again and writes no PUK. Counted on a JobDispatch with the
// runtime's PIN vault but a card reader, bus and runner that touch no database. And the other side:
// the server that took the start queues the job and says the word that wakes the holder in one
// statement (heard through a real LISTEN on PostgreSQL).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import type { Bus } from '../../src/services/cluster/bus.js';
import type { CardReader } from '../../src/services/issuance/card-reader.js';
import { IssuanceStarter } from '../../src/services/issuance/issuance-starter.js';
import type { IssuanceRunner, KnownForRun } from '../../src/services/issuance/issuance-runner.js';
import { JobDispatch } from '../../src/services/issuance/job-dispatch.js';
import type { IssuanceJob } from '../../src/services/issuance/job-view.js';
import type { Db } from '../../src/store/db.js';
import { deleteDeviceSecret } from '../../src/store/device-secrets-repo.js';
import { getDevice } from '../../src/store/devices-repo.js';
import { getJob, queueJobFor } from '../../src/store/jobs-repo.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { PG_URL, engines } from '../support/db.js';
import { until } from '../agent/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

type StarterDeps = ConstructorParameters<typeof IssuanceStarter>[0];
// Server instances are named by UUIDs (services/cluster/instance-registry.ts).
const HOLDER = randomUUID();

for (const engine of await engines()) {
  describe(`a job queued for its holder, on ${engine}`, () => {
    let srv: TestServer;
    let admin: Actor;
    let ecc: Policy;
    let aliceId: string;
    let serial = 32_000_000;
    let deps: StarterDeps;
    let starter: IssuanceStarter;
    const statements: string[] = [];
    const launched: { job: IssuanceJob; wipeFirst: boolean; known?: KnownForRun }[] = [];
    let dispatch: JobDispatch;

    beforeAll(async () => {
      srv = await startTestServer({ demo: true, engine });
      const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
      ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      aliceId = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!.id;
      deps = (srv.rt.services.issuance.starter as unknown as { deps: StarterDeps }).deps;
      const card = {
        reach: async () => ({ serial: String(serial), conn: { close: async () => undefined }, session: {} }),
        openDevice: async () => ({
          serial: String(serial),
          conn: { close: async () => undefined },
          session: {},
        }),
      } as unknown as CardReader;
      // The start as the server that took the call: its run is not started here.
      starter = new IssuanceStarter({
        ...deps,
        cards: card,
        runner: {
          instanceId: randomUUID(),
          launch: async () => undefined,
          launchPrint: async () => undefined,
        },
      });
      const db = srv.rt.db;
      dispatch = new JobDispatch({
        db: {
          ...db,
          query: (sql, params) => {
            statements.push(sql);
            return db.query(sql, params);
          },
          transaction: () => {
            throw new Error('the claim takes no transaction');
          },
        } as Db,
        runner: {
          instanceId: HOLDER,
          launch: (_a: Actor, job: IssuanceJob, _c: unknown, wipeFirst: boolean, known?: KnownForRun) =>
            void launched.push({ job, wipeFirst, ...(known ? { known } : {}) }),
          failJob: async (_a: Actor, _id: string, e: unknown) => {
            throw e;
          },
        } as unknown as IssuanceRunner,
        cards: card,
        bus: {
          subscribe: () => undefined,
          onResync: () => undefined,
          publish: () => undefined,
        } as unknown as Bus,
        pins: deps.pins,
      });
    });
    afterAll(async () => srv?.close());

    /** A job started on a new card by the server that took the call (its run not started). */
    const started = async () => {
      serial += 1;
      const { job } = await starter.start(admin, {
        userId: aliceId,
        card: { agentId: 'agent', reader: 'Reader' },
        action: 'issue',
        policyId: ecc.id,
        pin: '740219',
        pinConfirmation: '740219',
      });
      return job!;
    };

    const queued = async () => {
      const job = await started();
      await queueJobFor(srv.rt.db, job.id, HOLDER, {
        actor: admin,
        cardOwner: admin.id,
        agentId: 'agent',
        reader: 'Reader',
        wipeFirst: false,
      });
      statements.length = 0;
      launched.length = 0;
      return job.id;
    };

    it('one statement claims the job and reads its device, policy, person, PIN and PUK; claimed once', async () => {
      const id = await queued();
      await dispatch.claim();
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/^WITH claimed AS \(\s*UPDATE issuance_jobs/);
      expect(launched).toHaveLength(1);
      const { job, known, wipeFirst } = launched[0]!;
      const db = srv.rt.db;
      expect(job).toEqual(await getJob(db, id));
      expect(job).toMatchObject({ ownerInstance: HOLDER, awaitingOwner: false });
      expect(job.options).not.toHaveProperty('dispatch');
      expect(wipeFirst).toBe(false);
      expect(known!.device).toEqual(await getDevice(db, job.deviceId));
      expect(known!.policy).toEqual(ecc);
      expect(known!.user.id).toBe(aliceId);
      expect(known!.secrets!.pin).toBe('740219');
      expect(await deps.pins.get(db, job.deviceId)).toBe('740219');
      expect(known!.secrets!.puk).toMatch(/^\d{8}$/);
      // Claimed exactly once: another wake-up finds nothing.
      statements.length = 0;
      launched.length = 0;
      await dispatch.claim();
      expect(statements).toHaveLength(1);
      expect(launched).toHaveLength(0);
    });

    it('a job whose PUK is not stored: the run is given the rest and chooses and stores the PUK itself', async () => {
      const id = await queued();
      const deviceId = (await getJob(srv.rt.db, id))!.deviceId;
      await deleteDeviceSecret(srv.rt.db, deviceId, 'puk');
      await dispatch.claim();
      expect(statements).toHaveLength(1);
      expect(launched).toHaveLength(1);
      expect(launched[0]!.known).toMatchObject({ policy: ecc, device: { id: deviceId } });
      expect(launched[0]!.known!.secrets).toBeUndefined();
    });

    it('the server that took the start queues the job for the holder and wakes it, in one statement', async () => {
      const job = await started();
      const channel = `queued_${randomUUID().replace(/-/g, '')}`;
      const heard: string[] = [];
      const listener = engine === 'postgres' ? new pg.Client({ connectionString: PG_URL }) : null;
      if (listener) {
        await listener.connect();
        listener.on('notification', (n) => heard.push(n.payload ?? ''));
        await listener.query(`LISTEN ${channel}`);
      }
      let here = 0;
      const db = srv.rt.db;
      const queuing = new JobDispatch({
        db: { ...db, query: (sql, params) => (statements.push(sql), db.query(sql, params)) } as Db,
        runner: { instanceId: randomUUID() } as IssuanceRunner,
        cards: {} as CardReader,
        bus: {
          subscribe: () => undefined,
          onResync: () => undefined,
          publish: () => {
            throw new Error('the word goes in the statement, not apart');
          },
          carry: (topic: string, payload: string) => ({
            notify: { channel, payload: `${topic} ${payload}` },
            here: () => void here++,
          }),
        } as unknown as Bus,
        pins: deps.pins,
      });
      statements.length = 0;
      try {
        await queuing.launch(admin, job, {
          holder: HOLDER,
          agentId: 'agent',
          reader: 'Reader',
          serial: String(serial),
        });
        expect(statements).toHaveLength(1);
        expect(here).toBe(1);
        expect(await getJob(db, job.id)).toMatchObject({ ownerInstance: HOLDER, awaitingOwner: true });
        if (listener) {
          await until('the holder’s word', () => heard.length > 0);
          expect(heard).toEqual([`job-queued ${HOLDER}`]);
        }
      } finally {
        await listener?.end();
      }
    });
  });
}
