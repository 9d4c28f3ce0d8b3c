// A certificate that makes its credential (an issuance's key) writes both in one commit, in the
// certificate writer's group: a group that fails is retried member by member, and a member that
// fails leaves neither its certificate nor its credential, while the others keep both. A group is
// one statement: its credentials, the existing ones' serials, archived keys and audit events (the
// chain computed by PostgreSQL) with the certificates. On both engines, with the real issuer and store.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { verifyAudit } from '../../src/store/audit-repo.js';
import { getCredential, insertCredential, listDeviceCredentials } from '../../src/store/credentials-repo.js';
import { insertDevice } from '../../src/store/devices-repo.js';
import { insertPolicy } from '../../src/store/policies-repo.js';
import { insertUser } from '../../src/store/users-repo.js';
import { DEMO_POLICIES } from '../../src/services/bootstrap-service.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { testPki } from './fixtures.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const at = new Date('2026-11-01T10:00:00.000Z');

for (const engine of await engines())
  describe(`certificates that make their credentials (${engine})`, () => {
    let t: TestDb;
    let pki: Pki;
    let userId: string;
    let policyId: string;

    beforeAll(async () => {
      t = await openTestDb(engine);
      pki = testPki(t.db, { now: () => at });
      await pki.cas.ensureHierarchy();
      userId = (await insertUser(t.db, { username: 'cara', displayName: 'Cara', roles: ['user'], at })).id;
      policyId = (await insertPolicy(t.db, DEMO_POLICIES[0]!, at)).id;
    });
    afterAll(async () => t?.drop());

    const target = (deviceId: string, name: string, slot: '9a' | '9c' | '9e'): IssueTarget => ({
      user: { id: userId, username: 'cara', displayName: 'Cara', email: null, upn: null, properties: {} },
      profile: {
        name,
        certificateProfile: 'piv_authentication',
        keyAlgorithm: 'ECCP256',
        validityDays: 30,
        slot,
      },
      deviceId,
      newCredential: { policyId, profile: name },
    });
    const issue = (tg: IssueTarget) =>
      pki.issuer.issueForPublicKey(
        admin,
        tg,
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
        () => true,
      );

    it('the credential is written with its certificate: serial, slot, policy, profile, on its device', async () => {
      const device = await insertDevice(t.db, { serial: `C-${randomUUID()}`, type: 'piv_card', at });
      const cert = await issue(target(device.id, 'PIV Authentication', '9a'));
      const [cred, ...more] = await listDeviceCredentials(t.db, device.id);
      expect(more).toEqual([]);
      expect(cred).toMatchObject({
        id: cert.credentialId,
        userId,
        policyId,
        profile: 'PIV Authentication',
        slot: '9a',
        status: 'valid',
        certificateSerial: cert.serial,
        deviceIds: [device.id],
      });
    });

    it('a member of a group that fails leaves neither certificate nor credential; the others keep both', async () => {
      const device = await insertDevice(t.db, { serial: `C-${randomUUID()}`, type: 'piv_card', at });
      // The middle one names a device that does not exist: its statement fails (foreign key).
      const results = await Promise.allSettled([
        issue(target(device.id, 'PIV Authentication', '9a')),
        issue(target(randomUUID(), 'Digital Signature', '9c')),
        issue(target(device.id, 'Card Authentication', '9e')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const creds = await listDeviceCredentials(t.db, device.id);
      expect(creds.map((c) => c.slot)).toEqual(['9a', '9e']);
      const orphans = await t.db.query(
        `SELECT c.id FROM credentials c WHERE c.user_id = $1
            AND NOT EXISTS (SELECT 1 FROM certificates x WHERE x.credential_id = c.id)`,
        [userId],
      );
      expect(orphans).toEqual([]);
      const [n] = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM certificates WHERE user_id = $1 AND slot = '9c'`,
        [userId],
      );
      expect(n!.n).toBe(0);
    });

    it('many at once, of every kind: each certificate with its credential, key and audit event; the chain verifies', async () => {
      const device = await insertDevice(t.db, { serial: `C-${randomUUID()}`, type: 'piv_card', at });
      const existing = await insertCredential(t.db, {
        userId,
        policyId,
        profile: 'PIV Authentication',
        slot: '9a',
        deviceId: device.id,
        at,
      });
      const km: IssueTarget = {
        ...target(device.id, 'Key Management', '9a'),
        profile: {
          name: 'Key Management',
          certificateProfile: 'key_management',
          keyAlgorithm: 'ECCP256',
          validityDays: 30,
          slot: '9d',
          archiveKey: true,
        },
      };
      const made = await Promise.all(
        Array.from({ length: 24 }, (_, i) => issue(target(device.id, `Card Authentication ${i}`, '9e'))),
      );
      const [renewed, archived] = await Promise.all([
        issue({
          ...target(device.id, 'PIV Authentication', '9a'),
          newCredential: null,
          credentialId: existing.id,
        }),
        pki.issuer.issueWithArchivedKey(admin, km),
      ]);
      const creds = await listDeviceCredentials(t.db, device.id);
      expect(creds).toHaveLength(24 + 2);
      for (const c of made)
        expect(creds.find((x) => x.id === c.credentialId)).toMatchObject({ certificateSerial: c.serial });
      expect((await getCredential(t.db, existing.id))?.certificateSerial).toBe(renewed.serial);
      expect(creds.find((x) => x.id === archived.certificate.credentialId)).toMatchObject({
        slot: '9d',
        profile: 'Key Management',
        certificateSerial: archived.certificate.serial,
      });
      const [key] = await t.db.query('SELECT 1 FROM archived_keys WHERE certificate_id = $1', [
        archived.certificate.id,
      ]);
      expect(key).toBeDefined();
      const events = await t.db.query<{ target_id: string }>(
        `SELECT target_id FROM audit_events WHERE action = 'certificate.issued' AND details->>'deviceId' = $1`,
        [device.id],
      );
      expect(events.map((e) => e.target_id).sort()).toEqual(
        [...made.map((c) => c.id), renewed.id, archived.certificate.id].sort(),
      );
      expect(await verifyAudit(t.db)).toMatchObject({ ok: true });
    });

    it('a new credential needs its person and device, and is not also an existing one', async () => {
      const device = await insertDevice(t.db, { serial: `C-${randomUUID()}`, type: 'piv_card', at });
      const tg = target(device.id, 'PIV Authentication', '9a');
      await expect(issue({ ...tg, deviceId: null })).rejects.toThrow(/person and its device/);
      await expect(issue({ ...tg, credentialId: randomUUID() })).rejects.toThrow(/either makes/);
      expect(await listDeviceCredentials(t.db, device.id)).toEqual([]);
    });
  });
