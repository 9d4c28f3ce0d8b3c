// Two servers on one PostgreSQL finding their CA's content signer due at the same moment make ONE
// new signer, and both sign with it (issue #20, decision 0040): "still due?" is decided under the
// CA's row lock before a key is generated. Server A is held inside its key generation (a hook,
// no sleep); server B's rotation is started meanwhile and the test waits until B either waits for
// the lock (the fix) or generates a key of its own (the defect) before A goes on.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KeyAlgorithm } from '../../src/pki/algorithms.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import type { Actor } from '../../src/services/context.js';
import { SoftCaKeys, type CaKeyStore } from '../../src/services/pki/ca-keys.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { dropSchema, PG_URL, postgresAvailable, testSchemaName } from '../support/db.js';
import { testPki } from './fixtures.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/pki/content-signer-rotation.test.ts: no PostgreSQL at 127.0.0.1:5432');

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const DAY = 86_400_000;

/** A key store that counts what it generates and can hold the next generation until released. */
function hookedKeys(inner: CaKeyStore) {
  const state = { generated: 0, entered: false, hold: null as Promise<void> | null };
  const keys: CaKeyStore = {
    generate: async (id: string, algorithm: KeyAlgorithm) => {
      state.generated++;
      state.entered = true;
      await state.hold;
      return inner.generate(id, algorithm);
    },
    adopt: (id, key) => inner.adopt(id, key),
    open: (id, sealed) => inner.open(id, sealed),
  } as CaKeyStore;
  return { keys, state };
}

describe.skipIf(!pg)('two servers rotating a due content signer at once', { timeout: 60_000 }, () => {
  const schema = testSchemaName('csrot');
  let dbA: Db;
  let dbB: Db;
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const shared = new SoftCaKeys(MasterKey.generate());
  const a = hookedKeys(shared);
  const b = hookedKeys(shared);
  let pkiA: Pki;
  let pkiB: Pki;

  beforeAll(async () => {
    dbA = await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 });
    await migrate(dbA);
    dbB = await openDb({ databaseUrl: PG_URL, schema, poolSize: 2 });
    pkiA = testPki(dbA, clock, { caKeys: a.keys });
    pkiB = testPki(dbB, clock, { caKeys: b.keys });
    await pkiA.cas.ensureHierarchy();
  });
  afterAll(async () => {
    await dbB?.close();
    await dbA?.close();
    await dropSchema(schema);
  });

  it('makes exactly one new signer, and both servers use it', async () => {
    const cardExpires = () => new Date(clock.now().getTime() + 300 * DAY);
    const first = await pkiA.contentSigners.forCard(admin, cardExpires());
    expect((await pkiB.contentSigners.forCard(admin, cardExpires())).certificateId).toBe(first.certificateId);

    // A year and more later: both servers find the signer past its use period.
    offset = 400 * DAY;
    let release!: () => void;
    a.state.hold = new Promise((r) => (release = r));
    a.state.entered = false;
    const generatedByB = b.state.generated;
    const onA = pkiA.contentSigners.forCard(admin, cardExpires());
    await vi.waitFor(() => expect(a.state.entered).toBe(true), { timeout: 20_000 });
    const onB = pkiB.contentSigners.forCard(admin, cardExpires());
    // B is either waiting for the CA's row lock A holds, or (the defect) generating its own key.
    const bWaits = async () => {
      const [r] = await dbA.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND query LIKE 'SELECT id FROM cas WHERE id = $1 FOR UPDATE%'`,
      );
      return r!.n > 0;
    };
    await vi.waitFor(async () => expect((await bWaits()) || b.state.generated > generatedByB).toBe(true), {
      timeout: 20_000,
      interval: 20,
    });
    release();
    a.state.hold = null;
    const [ra, rb] = await Promise.all([onA, onB]);

    expect(ra.certificateId).not.toBe(first.certificateId);
    expect(rb.certificateId).toBe(ra.certificateId);
    expect(b.state.generated).toBe(generatedByB);
    const signers = await pkiA.contentSigners.list();
    expect(signers.map((s) => s.certificateId).sort()).toEqual(
      [first.certificateId, ra.certificateId].sort(),
    );
    expect(signers.filter((s) => s.active).map((s) => s.certificateId)).toEqual([ra.certificateId]);
    // And both go on signing with it.
    expect((await pkiB.contentSigners.forCard(admin, cardExpires())).certificateId).toBe(ra.certificateId);
    expect((await pkiA.contentSigners.forCard(admin, cardExpires())).certificateId).toBe(ra.certificateId);
  });
});
