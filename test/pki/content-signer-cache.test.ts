// Each server keeps its CA's active content signer instead of reading it for every card (issue
// #20). What would make it wrong drops it: a rotation, a status change of its certificate, a read
// that word overtook; without word it is read again after 30 seconds. (Across two servers on one
// PostgreSQL: test/cluster/caches.test.ts.) On both engines.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { Pki } from '../../src/services/pki/pki.js';
import type { Db } from '../../src/store/db.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { testPki } from './fixtures.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const cardExpires = () => new Date(Date.now() + 300 * 86_400_000);

for (const engine of await engines())
  describe(`the kept content signer (${engine})`, () => {
    let t: TestDb;
    let pki: Pki;
    /** Reads of the active signer, and a gate that can hold the next one. */
    let reads = 0;
    let hold: Promise<void> | null = null;

    beforeAll(async () => {
      t = await openTestDb(engine);
      const db = t.db;
      const counted: Db = {
        kind: db.kind,
        query: async (sql, params) => {
          if (/FROM piv_content_signers s JOIN certificates c/.test(sql) && /s\.active/.test(sql)) {
            reads++;
            const rows = await db.query(sql, params);
            await hold;
            return rows as never;
          }
          return db.query(sql, params);
        },
        exec: (sql) => db.exec(sql),
        transaction: (fn) => db.transaction(fn),
        close: () => db.close(),
      };
      pki = testPki(counted, { now: () => new Date() });
      await pki.cas.ensureHierarchy();
    });
    afterAll(async () => t?.drop());
    afterEach(() => {
      vi.useRealTimers();
    });

    it('cards are signed by the kept signer: read once, not per card', async () => {
      const first = await pki.contentSigners.forCard(admin, cardExpires());
      const before = reads;
      for (let i = 0; i < 3; i++)
        expect((await pki.contentSigners.forCard(admin, cardExpires())).certificateId).toBe(
          first.certificateId,
        );
      expect(reads).toBe(before);
    });

    it('a rotation is the signer of the next card', async () => {
      const old = await pki.contentSigners.forCard(admin, cardExpires());
      const rotated = await pki.contentSigners.rotate(admin);
      expect(rotated.certificateId).not.toBe(old.certificateId);
      expect((await pki.contentSigners.forCard(admin, cardExpires())).certificateId).toBe(
        rotated.certificateId,
      );
    });

    it('a revoked signer signs no more cards: a new one is made', async () => {
      const current = await pki.contentSigners.forCard(admin, cardExpires());
      await pki.revocation.revoke(admin, current.certificateId, 'keyCompromise');
      const next = await pki.contentSigners.forCard(admin, cardExpires());
      expect(next.certificateId).not.toBe(current.certificateId);
      expect(
        (await pki.contentSigners.list()).find((s) => s.certificateId === next.certificateId),
      ).toMatchObject({ active: true, status: 'valid' });
    });

    it('a read that word overtook is not kept', async () => {
      pki.contentSigners.forget();
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      const started = reads;
      const reading = pki.contentSigners.forCard(admin, cardExpires());
      await vi.waitFor(() => expect(reads).toBe(started + 1));
      // Word arrives while the read is on its way (the read may have seen the old signer).
      pki.contentSigners.forget();
      release();
      hold = null;
      await reading;
      const before = reads;
      await pki.contentSigners.forCard(admin, cardExpires());
      expect(reads).toBe(before + 1);
    });

    it('without word, the kept signer is read again after 30 seconds', async () => {
      vi.useFakeTimers({ toFake: ['performance'] });
      pki.contentSigners.forget();
      await pki.contentSigners.forCard(admin, cardExpires());
      const before = reads;
      vi.advanceTimersByTime(29_000);
      await pki.contentSigners.forCard(admin, cardExpires());
      expect(reads).toBe(before);
      vi.advanceTimersByTime(1_001);
      await pki.contentSigners.forCard(admin, cardExpires());
      expect(reads).toBe(before + 1);
    });
  });
