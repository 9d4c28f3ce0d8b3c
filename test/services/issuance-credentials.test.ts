// An issued key's credential is made by its certificate, in the certificate's own commit: a card's
// credentials each have their certificate, and a certificate the CA's store refuses mid-card
// leaves no credential behind (before, the credential was inserted first and stayed, `valid`,
// without a certificate). On both engines, through the real run, CA and store.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { permissionsOf } from '../../src/domain/permissions.js';
import type { Actor } from '../../src/services/context.js';
import type { Policy } from '../../src/store/policies-repo.js';
import { postgresAvailable } from '../support/db.js';
import { MemoryCardAccess, TEST_AGENT_ID } from '../support/memory-card-access.js';
import { startTestServer, type TestServer } from '../support/server.js';

const engines: ('pglite' | 'postgres')[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

type Row = {
  id: string;
  slot: string;
  profile: string;
  policy_id: string;
  status: string;
  certificate_serial: string | null;
  certificates: number;
  cert_serial: string | null;
};

for (const engine of engines)
  describe(`an issuance's credentials and certificates (${engine})`, { timeout: 60_000 }, () => {
    let srv: TestServer;
    let cards: MemoryCardAccess;
    let admin: Actor;
    let ecc: Policy;
    let aliceId: string;
    let serial = 31_000_000;

    beforeAll(async () => {
      cards = new MemoryCardAccess();
      srv = await startTestServer({ demo: true, cardAccess: cards, engine });
      const a = (await srv.rt.services.users.search({ q: 'admin', limit: 1, offset: 0 })).items[0]!;
      admin = { id: a.id, name: a.username, roles: a.roles, permissions: permissionsOf(a.roles) };
      ecc = (await srv.rt.services.policies.list()).find((p) => p.name.startsWith('PIV ECC'))!;
      aliceId = (await srv.rt.services.users.search({ q: 'alice', limit: 1, offset: 0 })).items[0]!.id;
    });
    afterAll(async () => srv?.close());

    const issue = async () => {
      const reader = `Reader ${++serial}`;
      cards.addCard(reader, serial);
      const { job } = await srv.rt.services.issuance.starter.start(admin, {
        userId: aliceId,
        card: { agentId: TEST_AGENT_ID, reader },
        action: 'issue',
        policyId: ecc.id,
        pin: '482913',
        pinConfirmation: '482913',
      });
      await srv.rt.services.issuance.runner.settled(job!.id);
      return srv.rt.services.issuance.jobs.get(job!.id);
    };

    /** The device's credentials, each with how many certificates name it and its certificate's serial. */
    const credentialsOf = (deviceId: string) =>
      srv.rt.db.query<Row>(
        `SELECT c.id, c.slot, c.profile, c.policy_id, c.status, c.certificate_serial,
                (SELECT count(*)::int FROM certificates x WHERE x.credential_id = c.id) AS certificates,
                (SELECT x.serial FROM certificates x WHERE x.credential_id = c.id LIMIT 1) AS cert_serial
           FROM credentials c JOIN device_credentials d ON d.credential_id = c.id
          WHERE d.device_id = $1 ORDER BY c.slot`,
        [deviceId],
      );

    it('each key of a card: one credential on the device, made with its certificate', async () => {
      const job = await issue();
      expect(job.status).toBe('succeeded');
      const creds = await credentialsOf(job.deviceId);
      expect(creds.map((c) => [c.slot, c.profile])).toEqual(
        ecc.credentialProfiles.map((p) => [p.slot, p.name]).sort(([a], [b]) => a!.localeCompare(b!)),
      );
      for (const c of creds) {
        expect(c).toMatchObject({ policy_id: ecc.id, status: 'valid', certificates: 1 });
        expect(c.certificate_serial).toBe(c.cert_serial);
      }
      // The certificate's audit event names the credential it made.
      const events = await srv.rt.db.query<{ details: { credentialId: string } }>(
        `SELECT details FROM audit_events WHERE action = 'certificate.issued' AND details->>'deviceId' = $1`,
        [job.deviceId],
      );
      expect(events.map((e) => e.details.credentialId).sort()).toEqual(creds.map((c) => c.id).sort());
    });

    it('a card’s certificates are asked for together and stored in one statement', async () => {
      const db = srv.rt.db;
      const query = db.query;
      const certificateWrites: string[] = [];
      db.query = ((sql: string, params?: unknown[]) => {
        if (/INSERT INTO certificates/.test(sql)) certificateWrites.push(sql);
        return query.call(db, sql, params);
      }) as typeof db.query;
      try {
        expect((await issue()).status).toBe('succeeded');
      } finally {
        db.query = query;
      }
      expect(certificateWrites).toHaveLength(1);
    });

    it('a certificate the store refuses mid-card leaves no credential without its certificate; Cancel revokes both', async () => {
      // The card's second certificate (Digital Signature, 9C) fails at the database.
      await srv.rt.db.exec(`
        CREATE FUNCTION test_refuse_signature() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.profile = 'digital_signature' THEN RAISE EXCEPTION 'test: this certificate is refused'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER test_refuse_signature BEFORE INSERT ON certificates
          FOR EACH ROW EXECUTE FUNCTION test_refuse_signature();`);
      onTestFinished(() =>
        srv.rt.db.exec(`DROP TRIGGER test_refuse_signature ON certificates;
                        DROP FUNCTION test_refuse_signature();`),
      );
      const job = await issue();
      expect(job.status).toBe('failed');
      // The failure names the certificate refused, not the last one asked for.
      expect(job.step).toContain('Digital Signature');
      const creds = await credentialsOf(job.deviceId);
      // The card's certificates are asked for together: the other keys' credentials and
      // certificates committed (their group failed, then each was written alone); the refused one
      // made neither.
      expect(creds.map((c) => c.slot)).toEqual(['9a', '9e']);
      expect(creds.every((c) => c.certificates === 1 && c.certificate_serial === c.cert_serial)).toBe(true);
      const orphans = await srv.rt.db.query(
        `SELECT c.id FROM credentials c WHERE c.user_id = $1
            AND NOT EXISTS (SELECT 1 FROM certificates x WHERE x.credential_id = c.id)`,
        [aliceId],
      );
      expect(orphans).toEqual([]);
      // Cancel revokes the attempt's certificates, and with each its credential.
      await srv.rt.services.issuance.cancel.cancel(admin, job.id);
      expect((await credentialsOf(job.deviceId)).map((c) => c.status)).toEqual(['revoked', 'revoked']);
    });
  });
