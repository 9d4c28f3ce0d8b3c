// The PIV content signer's key algorithm is a setting of its own (decision 0032): ECDSA-P256 by
// default whatever the CA's, P-384 (or RSA) when configured. openssl judges: the signer's key, its
// certificate under the P-384 CA chain, and the CHUID's and Security Object's CMS signatures.
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { decodeChuid, decodeSecurityObject } from '../../src/cards/piv/objects.js';
import { cardIdentity } from '../../src/services/card-identity.js';
import type { Actor } from '../../src/services/context.js';
import { signedCardObjects } from '../../src/services/piv-card-objects.js';
import { pkiSettings } from '../../src/services/pki/pki-config.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testPki } from './fixtures.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };

describe.skipIf(!hasOpenssl)('the content signer key algorithm, judged by openssl', () => {
  const ssl = new OpensslDir();
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const t of dbs) await t.drop();
    ssl.dispose();
  });

  for (const [setting, curve, digest] of [
    [undefined, 'P-256', 'sha256'],
    ['ECDSA-P384', 'P-384', 'sha384'],
  ] as const)
    it(`${setting ?? 'unset'}: a ${curve} content signer under a P-384 CA; CHUID and Security Object verify`, async () => {
      const now = new Date();
      const t = await openTestDb('pglite');
      dbs.push(t);
      const pki = testPki(
        t.db,
        { now: () => now },
        {
          caAlgorithm: 'ECCP384',
          ...(setting ? { contentSignerAlgorithm: setting } : {}),
        },
      );
      await pki.cas.ensureHierarchy();
      const cas = await pki.cas.list();
      ssl.file(
        'chain.pem',
        (await Promise.all(cas.map(async (c) => toPem(await pki.cas.certificateDer(c.id))))).join(''),
      );
      const cs = await pki.contentSigners.forCard(admin, new Date(now.getTime() + 864e5 * 365));
      ssl.file('signer.pem', toPem(cs.certificateDer));
      expect(ssl.runOk(['x509', '-in', 'signer.pem', '-noout', '-text'])).toContain(`NIST CURVE: ${curve}`);
      expect(ssl.run(['verify', '-CAfile', 'chain.pem', '-purpose', 'any', 'signer.pem']).out).toMatch(/OK/);

      const card = cardIdentity({ id: randomUUID(), serial: '1' });
      const objects = await signedCardObjects(cs, card, new Date(now.getTime() + 864e5 * 300));
      const chuid = decodeChuid(objects.chuid);
      ssl.file('chuid-sig.der', chuid.signature);
      ssl.file('chuid-fields.bin', chuid.signedFields);
      ssl.file('so.der', decodeSecurityObject(objects.securityObject).signedData);
      for (const args of [
        ['-in', 'chuid-sig.der', '-content', 'chuid-fields.bin'],
        ['-in', 'so.der'],
      ]) {
        const v = ssl.run([
          'cms',
          '-verify',
          '-inform',
          'DER',
          ...args,
          '-binary',
          '-CAfile',
          'chain.pem',
          '-purpose',
          'any',
          '-out',
          '/dev/null',
        ]);
        expect(v.out).toMatch(/Verification successful/);
      }
      const dump = ssl.runOk(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'so.der']);
      expect(dump).toContain(digest);
      expect(objects.facts.hash).toBe(digest);
    });

  it('a content signer algorithm Tessera does not know is refused at start', () => {
    expect(() =>
      pkiSettings({
        externalUrl: 'http://x',
        crlValidityHours: 24,
        caAlgorithm: 'ECCP256',
        contentSignerAlgorithm: 'ED25519',
      }),
    ).toThrow(/pki.contentSignerAlgorithm "ED25519" is not one of/);
  });
});
