// Caches and periodic work across two servers on one PostgreSQL (issue #20): a CA imported through
// server A is the CA server B signs with next (B's CA list is dropped on A's word, not after its
// 30-second re-read), and so is a content signer rotated or revoked through A; the slot of a
// periodic job is taken by exactly one of two servers looking at once. No timed assertion: the test waits for each state.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import { takeSlot } from '../../src/store/scheduled-work-repo.js';
import { testHierarchy } from '../pki/fixtures.js';
import { toPem } from '../pki/openssl.js';
import { dropSchema, postgresAvailable, testSchemaName } from '../support/db.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { signIn, until } from '../agent/support.js';

const pg = await postgresAvailable();
if (!pg) console.warn('SKIPPED test/cluster/caches.test.ts: no PostgreSQL at 127.0.0.1:5432');

describe.skipIf(!pg)(
  'several servers on one PostgreSQL: caches and periodic work',
  { timeout: 120_000 },
  () => {
    const schema = testSchemaName('cache');
    let a: TestServer;
    let b: TestServer;
    let admin: Actor;

    beforeAll(async () => {
      const config = { masterKey: randomBytes(32).toString('base64') };
      a = await startTestServer({ engine: 'postgres', schema, config });
      b = await startTestServer({ engine: 'postgres', schema, config });
      const u = (await a.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      admin = { id: u.id, name: u.username, roles: u.roles, permissions: permissionsOf(u.roles) };
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
      await dropSchema(schema);
    });

    const issueOn = (s: TestServer) => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return s.rt.services.pki.issuer.issueForPublicKey(
        admin,
        {
          user: {
            id: admin.id,
            username: 'admin',
            displayName: 'Admin',
            email: null,
            upn: null,
            properties: {},
          },
          profile: { certificateProfile: 'piv_authentication', keyAlgorithm: 'ECCP256', validityDays: 30 },
        },
        publicKey.export({ type: 'spki', format: 'der' }),
        () => true,
      );
    };

    it('a CA imported through A is the one B signs with next', async () => {
      const before = await issueOn(b); // B has read (and keeps) the CA list now
      const ent = await testHierarchy('ECCP256', { organization: 'Imported' });
      const onA = await signIn(a.url, a.admin.username, a.admin.password);
      const r = await onA.json<{ id: string }>('POST', '/api/cas/import', {
        certificateChainPem: toPem(ent.issuing.certificateDer) + toPem(ent.root.certificateDer),
        privateKeyPem: ent.issuingKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      });
      expect(r.status).toBe(201);
      expect(before.caId).not.toBe(r.body.id);
      // Well within B's 30-second re-read: only A's word can make B see it.
      const next = await until(
        'B signs with the imported CA',
        async () => {
          const c = await issueOn(b);
          return c.caId === r.body.id && c;
        },
        20_000,
      );
      expect(next.caId).toBe(r.body.id);
    });

    it("a content signer rotated through A signs B's next card; one revoked through A signs none on B", async () => {
      const cardExpires = new Date(Date.now() + 300 * 86_400_000);
      const signerOn = async (s: TestServer) =>
        (await s.rt.services.pki.contentSigners.forCard(admin, cardExpires)).certificateId;
      const kept = await signerOn(b); // B keeps its CA's signer now (no read per card)
      const rotated = await a.rt.services.pki.contentSigners.rotate(admin);
      expect(rotated.certificateId).not.toBe(kept);
      // Far within B's 30-second re-read: only A's word can make B use it.
      await until(
        'B signs with the signer A made',
        async () => (await signerOn(b)) === rotated.certificateId,
        10_000,
      );
      // Revoked through A (a compromised key): B's next card gets a new signer, never the revoked one.
      await a.rt.services.pki.revocation.revoke(admin, rotated.certificateId, 'keyCompromise');
      const next = await until(
        'B leaves the revoked signer',
        async () => {
          const id = await signerOn(b);
          return id !== rotated.certificateId && id;
        },
        10_000,
      );
      const [row] = await b.rt.db.query<{ status: string; active: boolean }>(
        `SELECT c.status, s.active FROM piv_content_signers s JOIN certificates c ON c.id = s.certificate_id
          WHERE s.certificate_id = $1`,
        [next],
      );
      expect(row).toEqual({ status: 'valid', active: true });
    });

    it('the slot of a periodic job goes to exactly one of two servers, then to nobody until due', async () => {
      const name = `test-${randomUUID()}`;
      const took = await Promise.all([
        takeSlot(a.rt.db, name, 3_600_000, a.rt.instance.id),
        takeSlot(b.rt.db, name, 3_600_000, b.rt.instance.id),
      ]);
      expect(took.filter(Boolean)).toHaveLength(1);
      expect(await takeSlot(a.rt.db, name, 3_600_000, a.rt.instance.id)).toBe(false);
      expect(await takeSlot(b.rt.db, name, 3_600_000, b.rt.instance.id)).toBe(false);
      // Due again (the hour passed): one of them takes it again.
      await a.rt.db.query(
        `UPDATE scheduled_work SET next_run_at = now() - interval '1 second' WHERE name = $1`,
        [name],
      );
      const again = await Promise.all([
        takeSlot(b.rt.db, name, 3_600_000, b.rt.instance.id),
        takeSlot(a.rt.db, name, 3_600_000, a.rt.instance.id),
      ]);
      expect(again.filter(Boolean)).toHaveLength(1);
    });
  },
);
