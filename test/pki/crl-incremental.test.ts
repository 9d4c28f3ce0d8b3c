// CRLs at scale, on PGlite and PostgreSQL, judged by openssl: the next CRL is built from the last
// one's kept entries plus the status changes since (holds, revocations, reinstatements), and must
// equal what a publisher reading everything anew builds; expired certificates leave it; the CRL
// is served from memory until another server (here: another publisher on the same database)
// signs a newer one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Actor } from '../../src/services/context.js';
import { MasterKey } from '../../src/secrets/master-key.js';
import { SoftCaKeys } from '../../src/services/pki/ca-keys.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { insertCertificates } from '../../src/store/certificate-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { opensslReadCrl, parseCrlDer } from './crl-reading.js';
import { testPki } from './fixtures.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const DAY = 86_400_000;

const available = await engines();
for (const engine of ['pglite', 'postgres'] as const) {
  describe.skipIf(!hasOpenssl || !available.includes(engine))(`Incremental CRLs on ${engine}`, () => {
    const ssl = new OpensslDir();
    let t: TestDb;
    let pki: Pki;
    let now = new Date();
    let issuingId: string;
    const ids: string[] = [];
    // Both publishers open the CA key with one master key, as two servers would.
    const caKeys = new SoftCaKeys(MasterKey.generate());

    beforeAll(async () => {
      t = await openTestDb(engine);
      pki = testPki(t.db, { now: () => now }, { caKeys });
      issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
      ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
      // 600 certificates (rows only: the CRL reads status, serial and validity), the first 20
      // expiring in two days, the rest in a year; 500 of them revoked in bulk.
      const certs = Array.from({ length: 600 }, (_, i) => ({
        id: randomUUID(),
        caId: issuingId,
        serial: `1${randomBytes(15).toString('hex')}0`, // 16 octets, no leading zero nibble to pad
        userId: null,
        deviceId: null,
        credentialId: null,
        profile: 'piv_authentication',
        slot: null,
        subject: `CN=bulk ${i}`,
        keyAlgorithm: 'ECCP256',
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + (i < 20 ? 2 : 365) * DAY),
        der: Buffer.from([0x30, 0x00]),
      }));
      await t.db.transaction((tx) => insertCertificates(tx, certs, now));
      ids.push(...certs.map((c) => c.id));
      await t.db.query(
        `UPDATE certificates SET status = 'revoked', revocation_reason = 'superseded', revoked_at = $2
          WHERE id = ANY($1::uuid[])`,
        [ids.slice(0, 500), now],
      );
      await pki.crls.publish(issuingId); // the full read: what later CRLs are built from
    }, 120_000);
    afterAll(async () => {
      ssl.dispose();
      await t?.drop();
    });

    const judged = (der: Buffer) => {
      ssl.file('cur.crl', der);
      const j = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
      expect(j.verified).toBe(true);
      const { verified: _v, text: _t, ...seen } = j;
      expect(seen).toEqual(parseCrlDer(der));
      return seen;
    };
    /** What a publisher with nothing kept (a fresh server on the same database) signs now. */
    const fromScratch = async () => testPki(t.db, { now: () => now }, { caKeys }).crls.publish(issuingId);

    it('applies holds, revocations and reinstatements to the kept entries exactly as a full read would', async () => {
      now = new Date(now.getTime() + 60_000);
      await pki.revocation.suspend(admin, ids[550]!);
      await pki.revocation.revoke(admin, ids[551]!, 'keyCompromise');
      await pki.revocation.reinstate(admin, ids[550]!);
      await pki.revocation.suspend(admin, ids[552]!);
      // A hold that becomes a revocation: the entry's reason changes.
      await pki.revocation.suspend(admin, ids[553]!);
      await pki.revocation.revoke(admin, ids[553]!, 'cessationOfOperation');
      const incremental = judged(await pki.crls.current(issuingId));
      expect(incremental.entries).toHaveLength(503);
      const bySerial = new Map(incremental.entries.map((e) => [e.serial, e]));
      const serialOf = async (id: string) =>
        (
          await t.db.query<{ serial: string }>('SELECT serial FROM certificates WHERE id = $1', [id])
        )[0]!.serial.toUpperCase();
      expect(bySerial.has(await serialOf(ids[550]!))).toBe(false);
      expect(bySerial.get(await serialOf(ids[551]!))?.reason).toBe('keyCompromise');
      expect(bySerial.get(await serialOf(ids[552]!))?.reason).toBe('certificateHold');
      expect(bySerial.get(await serialOf(ids[553]!))?.reason).toBe('cessationOfOperation');
      const scratch = judged(await fromScratch());
      expect(scratch.entries).toEqual(incremental.entries);
    });

    it('drops expired certificates from the next CRL', async () => {
      now = new Date(now.getTime() + 3 * DAY);
      await pki.crls.publish(issuingId);
      const after = judged(await pki.crls.current(issuingId));
      expect(after.entries).toHaveLength(483);
      expect(judged(await fromScratch()).entries).toEqual(after.entries);
    });

    it('serves the kept CRL until another publisher signs a newer one', async () => {
      const a = await pki.crls.current(issuingId);
      expect((await pki.crls.current(issuingId)).equals(a)).toBe(true);
      const other = await fromScratch();
      expect(other.equals(a)).toBe(false);
      expect((await pki.crls.current(issuingId)).equals(other)).toBe(true);
    });
  });
}
