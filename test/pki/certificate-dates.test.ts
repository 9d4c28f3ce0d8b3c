// The CA's use cases at the calendar's edges, judged by openssl: the 1st and the 9th of a month
// (openssl pads one-digit days), 29 February 2028, and 31 December 23:59:59 UTC. At each, with the
// service's clock there, the CA hierarchy is created, a certificate issued and suspended, and the
// CRL re-signed half its validity later. Every expected date is worked out by hand below, not by
// the service's own arithmetic; the process's time zone (CI: America/St_Johns) must not matter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/services/context.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { seedPerson } from '../support/seed.js';
import { opensslReadCrl, parseCrlDer } from './crl-reading.js';
import { pivAuthenticationTarget, testPki } from './fixtures.js';
import { OpensslDir, hasOpenssl, opensslValidity, toPem } from './openssl.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };

interface Edge {
  label: string;
  /** The service's clock. */
  now: string;
  /** A minute before `now`, both CAs. */
  caNotBefore: string;
  rootNotAfter: string; // 20 years on
  issuingNotAfter: string; // 10 years on
  leafNotAfter: string; // 365 days on
  crlNextUpdate: string; // 24 hours on
}

const EDGES: Edge[] = [
  {
    label: 'the 1st of a month, half a minute after midnight',
    now: '2027-03-01T00:00:30Z',
    caNotBefore: '2027-02-28T23:59:30Z', // the month before
    rootNotAfter: '2047-02-28T23:59:30Z',
    issuingNotAfter: '2037-02-28T23:59:30Z',
    leafNotAfter: '2028-02-29T00:00:30Z', // 2028 is a leap year: 365 days end on its 29 February
    crlNextUpdate: '2027-03-02T00:00:30Z',
  },
  {
    label: 'the 9th of a month',
    now: '2027-03-09T09:09:09Z',
    caNotBefore: '2027-03-09T09:08:09Z',
    rootNotAfter: '2047-03-09T09:08:09Z',
    issuingNotAfter: '2037-03-09T09:08:09Z',
    leafNotAfter: '2028-03-08T09:09:09Z', // the year to come holds 29 February
    crlNextUpdate: '2027-03-10T09:09:09Z',
  },
  {
    label: '29 February 2028',
    now: '2028-02-29T12:34:56Z',
    caNotBefore: '2028-02-29T12:33:56Z',
    rootNotAfter: '2048-02-29T12:33:56Z', // 2048 is a leap year too
    issuingNotAfter: '2038-03-01T12:33:56Z', // 2038 has no 29 February: the day after 28 February
    leafNotAfter: '2029-02-28T12:34:56Z',
    crlNextUpdate: '2028-03-01T12:34:56Z',
  },
  {
    label: '31 December 23:59:59 UTC',
    now: '2026-12-31T23:59:59Z',
    caNotBefore: '2026-12-31T23:58:59Z',
    rootNotAfter: '2046-12-31T23:58:59Z',
    issuingNotAfter: '2036-12-31T23:58:59Z',
    leafNotAfter: '2027-12-31T23:59:59Z',
    crlNextUpdate: '2027-01-01T23:59:59Z', // next year
  },
];

const d = (iso: string) => new Date(iso);
const seconds = (t: Date) => String(Math.floor(t.getTime() / 1000));

for (const engine of await engines()) {
  describe.skipIf(!hasOpenssl)(`The CA at the calendar's edges on ${engine}`, () => {
    for (const edge of EDGES) {
      describe(`${edge.label} (${edge.now})`, () => {
        const ssl = new OpensslDir();
        let t: TestDb;
        let now: Date;
        let pki: Pki;
        let issuingId: string;
        let rootId: string;

        beforeAll(async () => {
          t = await openTestDb(engine);
          now = d(edge.now);
          pki = testPki(t.db, { now: () => now });
          issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
          rootId = (await pki.cas.list()).find((c) => c.kind === 'root')!.id;
          ssl.file('root.pem', toPem(await pki.cas.certificateDer(rootId)));
          ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
          ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
        }, 120_000);
        afterAll(async () => {
          ssl.dispose();
          await t?.drop();
        });

        it('creates the CA hierarchy valid from a minute before, for 20 and 10 years', () => {
          expect(opensslValidity(ssl, ssl.path('root.pem'))).toEqual({
            notBefore: d(edge.caNotBefore),
            notAfter: d(edge.rootNotAfter),
          });
          expect(opensslValidity(ssl, ssl.path('issuing.pem'))).toEqual({
            notBefore: d(edge.caNotBefore),
            notAfter: d(edge.issuingNotAfter),
          });
        });

        it('issues for 365 days: valid from the clock, to the second, until notAfter', async () => {
          const person = await seedPerson(t.db);
          const cert = await pki.issuer.issueFromCsr(admin, pivAuthenticationTarget(person), ssl.csr('r'));
          expect(cert).toMatchObject({
            notBefore: d(edge.now).toISOString(),
            notAfter: d(edge.leafNotAfter).toISOString(),
          });
          const leaf = ssl.file('leaf.pem', await pki.certificates.pem(cert.id));
          expect(opensslValidity(ssl, leaf)).toEqual({
            notBefore: d(edge.now),
            notAfter: d(edge.leafNotAfter),
          });
          const verifyAt = (at: Date) =>
            ssl.run([
              'verify',
              '-attime',
              seconds(at),
              '-CAfile',
              'root.pem',
              '-untrusted',
              'issuing.pem',
              leaf,
            ]).out;
          const second = 1000;
          expect(verifyAt(new Date(d(edge.now).getTime() - second))).toMatch(/certificate is not yet valid/);
          expect(verifyAt(d(edge.now))).toContain(': OK');
          // openssl holds a certificate expired from its notAfter second on (RFC 5280 says through).
          expect(verifyAt(new Date(d(edge.leafNotAfter).getTime() - second))).toContain(': OK');
          expect(verifyAt(d(edge.leafNotAfter))).toMatch(/certificate has expired/);

          // Suspended at the edge: the CRL lists it on hold, dated by the clock, valid for a day.
          await pki.revocation.suspend(admin, cert.id);
          const der = await pki.crls.current(issuingId);
          ssl.file('issuing.crl', der);
          const { verified, text: _text, ...crl } = opensslReadCrl(ssl, 'issuing.crl', 'chain.pem');
          expect(verified).toBe(true);
          expect(crl).toEqual(parseCrlDer(der));
          expect(crl).toMatchObject({
            thisUpdate: d(edge.now),
            nextUpdate: d(edge.crlNextUpdate),
            entries: [
              { serial: cert.serial.toUpperCase(), revokedAt: d(edge.now), reason: 'certificateHold' },
            ],
          });
          // openssl's own CRL check at that moment: the leaf is revoked.
          ssl.file('issuing.crl.pem', toPem(der, 'X509 CRL'));
          ssl.file('root.crl.pem', toPem(await pki.crls.current(rootId), 'X509 CRL'));
          const checked = ssl.run([
            'verify',
            '-attime',
            seconds(d(edge.now)),
            '-crl_check_all',
            '-CRLfile',
            'issuing.crl.pem',
            '-CRLfile',
            'root.crl.pem',
            '-CAfile',
            'root.pem',
            '-untrusted',
            'issuing.pem',
            leaf,
          ]).out;
          expect(checked).toMatch(/certificate revoked/);
        });

        it('re-signs the CRLs once half their validity has passed, dated by the clock', async () => {
          const halfDay = 12 * 3_600_000;
          now = new Date(d(edge.now).getTime() + halfDay - 1);
          expect(await pki.crls.refreshDue()).toEqual([]);
          now = new Date(d(edge.now).getTime() + halfDay);
          expect(await pki.crls.refreshDue()).toEqual([rootId, issuingId].sort());
          const crl = parseCrlDer(await pki.crls.current(issuingId));
          expect(crl.thisUpdate).toEqual(now);
          expect(crl.nextUpdate).toEqual(new Date(d(edge.crlNextUpdate).getTime() + halfDay));
          expect(crl.entries.map((e) => e.revokedAt)).toEqual([d(edge.now)]);
        });
      });
    }
  });
}
