// A certificate that makes its credential (an issuance's key) writes both in one commit, in the
// certificate writer's group: a group that fails is retried member by member, and a member that
// fails leaves neither its certificate nor its credential, while the others keep both. On both
// engines, with the real issuer and store.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { listDeviceCredentials } from '../../src/store/credentials-repo.js';
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

    it('a new credential needs its person and device, and is not also an existing one', async () => {
      const device = await insertDevice(t.db, { serial: `C-${randomUUID()}`, type: 'piv_card', at });
      const tg = target(device.id, 'PIV Authentication', '9a');
      await expect(issue({ ...tg, deviceId: null })).rejects.toThrow(/person and its device/);
      await expect(issue({ ...tg, credentialId: randomUUID() })).rejects.toThrow(/either makes/);
      expect(await listDeviceCredentials(t.db, device.id)).toEqual([]);
    });
  });
