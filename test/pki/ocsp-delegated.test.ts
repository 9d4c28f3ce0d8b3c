// OCSP answered by each CA's delegated responder, on PGlite and PostgreSQL, judged by openssl:
// the responder certificate (id-kp-OCSPSigning, ocsp-nocheck, P-256 under a P-384 CA, days not
// years), answers kept and served again byte for byte, a revocation visible in the very next
// answer, nonce requests signed afresh, and the responder renewed past half its life with its key
// sealed like a CA key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse } from '@peculiar/asn1-ocsp';
import type { Actor } from '../../src/services/context.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { seedPerson } from '../support/seed.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';
import { pivAuthenticationTarget, testPki } from './fixtures.js';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const DAY = 86_400_000;

/** The certificate an OCSP answer carries (its signer's), DER. */
function signerCertificate(resp: Buffer): Buffer {
  const outer = AsnConvert.parse(resp, OCSPResponse);
  const basic = AsnConvert.parse(outer.responseBytes!.response.buffer, BasicOCSPResponse);
  expect(basic.certs).toHaveLength(1);
  return Buffer.from(AsnConvert.serialize(basic.certs![0]!));
}

const available = await engines();
for (const engine of ['pglite', 'postgres'] as const) {
  describe.skipIf(!hasOpenssl || !available.includes(engine))(`Delegated OCSP on ${engine}`, () => {
    const ssl = new OpensslDir();
    let t: TestDb;
    let pki: Pki;
    // The hierarchy and the first responder are made four days ago (real time minus four days),
    // so that moving the clock to the real present crosses the responder's half-life while
    // openssl, which checks validity against the real time, still accepts both responders.
    const present = new Date();
    let now = new Date(present.getTime() - 4 * DAY);
    let issuingId: string;
    let leafId: string;

    beforeAll(async () => {
      t = await openTestDb(engine);
      pki = testPki(t.db, { now: () => now }, { caAlgorithm: 'ECCP384' });
      issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
      const root = (await pki.cas.list()).find((c) => c.kind === 'root')!;
      ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
      ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      const cert = await pki.issuer.issueFromCsr(
        admin,
        pivAuthenticationTarget(await seedPerson(t.db)),
        ssl.csr('leaf', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
      );
      leafId = cert.id;
      ssl.file('leaf.pem', await pki.certificates.pem(cert.id));
      // A request without a nonce (the RFC 5019 kind, answered from what is kept) and one with.
      ssl.runOk(['ocsp', '-no_nonce', '-issuer', 'issuing.pem', '-cert', 'leaf.pem', '-reqout', 'plain.req']);
    }, 120_000);
    afterAll(async () => {
      ssl.dispose();
      await t?.drop();
    });

    const plainRequest = () => Buffer.from(ssl.runOk(['base64', '-A', '-in', 'plain.req']), 'base64');
    const judge = (resp: Buffer) =>
      ssl.ocspReading(resp, { issuer: 'issuing.pem', leaf: 'leaf.pem', caFile: 'root.pem' });

    it('signs with a P-256 responder certificate the P-384 issuing CA issued for OCSP only', async () => {
      now = new Date(present.getTime() - 4 * DAY);
      const resp = await pki.ocsp.respond(ssl.ocspRequest('issuing.pem', 'leaf.pem'));
      ssl.file('responder0.pem', toPem(signerCertificate(resp)));
      const text = ssl.runOk(['x509', '-in', 'responder0.pem', '-noout', '-text']);
      expect(text).toContain('OCSP Signing');
      expect(text).toContain('OCSP No Check');
      expect(text).toMatch(/Public-Key: \(256 bit\)/);
      expect(text).toContain('Digital Signature');
      expect(text).toContain('Signature Algorithm: ecdsa-with-SHA384'); // signed by the P-384 CA
      const issuingSubject = ssl.runOk([
        'x509',
        '-in',
        'issuing.pem',
        '-noout',
        '-subject',
        '-nameopt',
        'RFC2253',
      ]);
      const responderIssuer = ssl.runOk([
        'x509',
        '-in',
        'responder0.pem',
        '-noout',
        '-issuer',
        '-nameopt',
        'RFC2253',
      ]);
      expect(responderIssuer.replace('issuer=', '')).toBe(issuingSubject.replace('subject=', ''));
      expect(
        ssl.run([
          'verify',
          '-CAfile',
          'root.pem',
          '-untrusted',
          'issuing.pem',
          '-purpose',
          'ocsphelper',
          'responder0.pem',
        ]).out,
      ).toContain(': OK');
      const dates = ssl.runOk(['x509', '-in', 'responder0.pem', '-noout', '-startdate', '-enddate']);
      const life =
        Date.parse(/notAfter=(.*)/.exec(dates)![1]!) - Date.parse(/notBefore=(.*)/.exec(dates)![1]!);
      expect(life).toBe(168 * 3_600_000 + 60_000); // 7 days, started a minute early
      // The answer itself is signed by it, with SHA-256, and openssl accepts the delegation (it
      // warns that the answer's hour is four days past, as it is on this clock).
      const out = judge(resp);
      expect(out).toContain('Response verify OK');
      expect(out).toContain('Signature Algorithm: ecdsa-with-SHA256');
      expect(out).toMatch(/^(leaf\.pem: )?good$/m);
    });

    it('keeps the answer to a request without nonce; signs every nonce request afresh', async () => {
      const first = await pki.ocsp.answer(plainRequest(), 'k1');
      expect(first.cache).not.toBeNull();
      // ECDSA signatures are randomised: equal bytes mean the answer was served, not re-signed.
      expect((await pki.ocsp.answer(plainRequest(), 'k1')).der.equals(first.der)).toBe(true);
      expect(pki.ocsp.cached('k1')?.der.equals(first.der)).toBe(true);
      // Other bytes for the same question (no key given) still find the certificate's answer.
      expect((await pki.ocsp.answer(plainRequest())).der.equals(first.der)).toBe(true);
      const withNonce = ssl.ocspRequest('issuing.pem', 'leaf.pem');
      const n1 = await pki.ocsp.answer(withNonce, 'n');
      const n2 = await pki.ocsp.answer(withNonce, 'n');
      expect(n1.cache).toBeNull();
      expect(n1.der.equals(n2.der)).toBe(false);
      expect(pki.ocsp.cached('n')).toBeNull();
    });

    it('renews the responder past half its life; its key is sealed like a CA key', async () => {
      // The clock moves from four days ago to now (past 84 h of 168): the next answer renews it.
      now = new Date(present.getTime());
      const resp = await pki.ocsp.respond(ssl.ocspRequest('issuing.pem', 'leaf.pem'));
      const second = signerCertificate(resp);
      ssl.file('responder1.pem', toPem(second));
      expect(toPem(second)).not.toBe(ssl.runOk(['x509', '-in', 'responder0.pem']));
      expect(judge(resp)).toContain('Response verify OK');
      const rows = await t.db.query<{ ca_id: string; encrypted_key: Uint8Array; key_algorithm: string }>(
        'SELECT ca_id, encrypted_key, key_algorithm FROM ocsp_signers WHERE ca_id = $1 ORDER BY not_after',
        [issuingId],
      );
      expect(rows.map((r) => r.key_algorithm)).toEqual(['ECCP256', 'ECCP256']);
      for (const r of rows)
        expect(() =>
          createPrivateKey({ key: Buffer.from(r.encrypted_key), format: 'der', type: 'pkcs8' }),
        ).toThrow();
      // Nothing left to renew right after.
      expect(await pki.ocsp.renewSigners()).toEqual([]);
    });

    it('answers revoked in the very next answer after a revocation, verified by openssl', async () => {
      const before = await pki.ocsp.answer(plainRequest(), 'k2');
      const again = await pki.ocsp.answer(plainRequest(), 'k2');
      expect(again.der.equals(before.der)).toBe(true);
      let out = judge(before.der);
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/leaf\.pem: good/);

      await pki.revocation.revoke(admin, leafId, 'keyCompromise');
      expect(pki.ocsp.cached('k2')).toBeNull();
      const after = await pki.ocsp.answer(plainRequest(), 'k2');
      out = judge(after.der);
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/leaf\.pem: revoked/);
      expect(out).toContain('Reason: keyCompromise');
      // …and that answer is the one kept now.
      expect(pki.ocsp.cached('k2')?.der.equals(after.der)).toBe(true);
    });

    it("answers for the issuing CA's own certificate through the root's responder", async () => {
      ssl.runOk(['ocsp', '-issuer', 'root.pem', '-cert', 'issuing.pem', '-reqout', 'sub.req']);
      const req = Buffer.from(ssl.runOk(['base64', '-A', '-in', 'sub.req']), 'base64');
      const resp = await pki.ocsp.respond(req);
      ssl.file('sub.resp', resp);
      const out = ssl.run([
        'ocsp',
        '-no_nonce',
        '-respin',
        'sub.resp',
        '-issuer',
        'root.pem',
        '-cert',
        'issuing.pem',
        '-CAfile',
        'root.pem',
      ]).out;
      expect(out).toContain('Response verify OK');
      expect(out).toMatch(/issuing\.pem: good/);
    });
  });
}
