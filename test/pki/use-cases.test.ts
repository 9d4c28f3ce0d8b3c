// The CA's use cases (services/pki/) on PGlite and PostgreSQL, judged by openssl: hierarchy,
// issuance from CSR and from a public key with proof of possession, hold / reinstate / revoke
// mirrored onto the credential and visible in CRL and OCSP, key archival and recovery, CA import.
// Who may call which is the routes' business (test/pki/http.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import type { Actor } from '../../src/services/context.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { verifyAudit } from '../../src/store/audit-repo.js';
import { engines, openTestDb, type TestDb } from '../support/db.js';
import { seedPerson } from '../support/seed.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';
import { opensslReadCrl, parseCrlDer, toSecond } from './crl-reading.js';
import { pivAuthenticationTarget, testHierarchy, testPki } from './fixtures.js';
import { exportPkcs12 } from '../../src/pki/pkcs12.js';
import { certificateParts } from '../../src/pki/signing-ca.js';
import { randomUUID } from 'node:crypto';

const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
const helpdesk: Actor = { id: null, name: 'Hal Helpdesk', roles: ['helpdesk'] };

const available = await engines(); // PostgreSQL missing is reported there, loudly
for (const engine of ['pglite', 'postgres'] as const) {
  describe.skipIf(!hasOpenssl || !available.includes(engine))(
    `The CA's use cases on ${engine}, judged by openssl`,
    () => {
      const ssl = new OpensslDir();
      let t: TestDb;
      let pki: Pki;
      let now = new Date();
      let person: Awaited<ReturnType<typeof seedPerson>>;
      let target: IssueTarget;
      let issuingId: string;

      beforeAll(async () => {
        t = await openTestDb(engine);
        pki = testPki(t.db, { now: () => now });
        const first = await pki.cas.ensureHierarchy();
        expect(first.created).toBe(true);
        issuingId = first.issuingCaId;
        expect(await pki.cas.ensureHierarchy()).toEqual({ issuingCaId: issuingId, created: false });
        person = await seedPerson(t.db);
        target = pivAuthenticationTarget(person);
        ssl.file('chain.pem', await pki.cas.chainPem(issuingId));
        const cas = await pki.cas.list();
        const root = cas.find((c) => c.kind === 'root')!;
        ssl.file('root.pem', toPem(await pki.cas.certificateDer(root.id)));
        ssl.file('issuing.pem', toPem(await pki.cas.certificateDer(issuingId)));
      }, 120_000);
      afterAll(async () => {
        ssl.dispose();
        await t?.drop();
      });

      const csr = (keyArgs: readonly string[]) => ssl.csr('r', keyArgs);
      /** The current CRL as openssl reads it, checked against the DER parse: both must agree. */
      const currentCrl = async () => {
        const der = await pki.crls.current(issuingId);
        ssl.file('cur.crl', der);
        const judged = opensslReadCrl(ssl, 'cur.crl', 'chain.pem');
        const { verified: _v, text: _t, ...seen } = judged;
        expect(seen).toEqual(parseCrlDer(der));
        return judged;
      };
      const ocsp = async (leaf: string) =>
        ssl.ocspReading(await pki.ocsp.respond(ssl.ocspRequest('issuing.pem', leaf)), {
          issuer: 'issuing.pem',
          leaf,
          caFile: 'root.pem',
        });

      it('lists the hierarchy with its first CRLs', async () => {
        const cas = await pki.cas.list();
        expect(cas.map((c) => [c.kind, c.active])).toEqual([
          ['root', false],
          ['issuing', true],
        ]);
        expect(cas[1]!.crl?.number).toBe('1');
        expect(cas[1]!.subject).toContain('Tessera Issuing CA 1');
        const v = ssl.run(['verify', '-CAfile', 'root.pem', 'issuing.pem']);
        expect(v.out).toContain('OK');
      });

      it('issues from a CSR; suspends, reinstates and revokes with CRL, OCSP, credential and audit in step', async () => {
        const cert = await pki.issuer.issueFromCsr(
          admin,
          target,
          csr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
        );
        expect(cert.status).toBe('valid');
        expect(cert.subject).toBe('UID=alice, CN=Alice Ångström');
        const leaf = ssl.file('leaf.pem', await pki.certificates.pem(cert.id));
        expect(ssl.run(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', leaf]).out).toContain(
          ': OK',
        );
        const detail = await pki.certificates.get(cert.id);
        expect(detail.extendedKeyUsage).toEqual(['clientAuth', 'smartcardLogon', 'pkinitClientAuth']);
        expect(detail.keyUsage).toEqual(['digitalSignature']);
        // No UPN (the person has none: no fallback to the mail address), no FASC-N (none given).
        expect(detail.subjectAltNames).toEqual([
          `url:urn:uuid:${person.deviceId}`,
          'email:alice@example.test',
        ]);
        expect(detail.crlDistributionPoints).toEqual([`http://127.0.0.1:9/pki/crl/${issuingId}.crl`]);
        expect(detail.ocspUrls).toEqual(['http://127.0.0.1:9/pki/ocsp']);
        expect(detail.caIssuersUrls).toEqual([`http://127.0.0.1:9/pki/ca/${issuingId}.crt`]);
        expect(detail.publicKeyAlgorithm).toBe('EC P-256');
        expect(detail.signatureAlgorithm).toBe('ecdsa-with-SHA256');
        expect(await ocsp(leaf)).toMatch(/leaf.pem: good/);

        const held = await pki.revocation.suspend(helpdesk, cert.id);
        expect(held).toMatchObject({ status: 'suspended', revocationReason: 'certificateHold' });
        const up = cert.serial.toUpperCase();
        let crl = await currentCrl();
        expect(crl.verified).toBe(true);
        expect(crl.number).toBe('2');
        expect(crl.entries).toEqual([{ serial: up, revokedAt: toSecond(now), reason: 'certificateHold' }]);
        let o = await ocsp(leaf);
        expect(o).toMatch(/leaf.pem: revoked/);
        expect(o).toContain('Reason: certificateHold');
        const [cred] = await t.db.query<{ status: string; certificate_serial: string }>(
          'SELECT status, certificate_serial FROM credentials WHERE id = $1',
          [person.credentialId],
        );
        expect(cred).toEqual({ status: 'suspended', certificate_serial: cert.serial });

        await expect(pki.revocation.suspend(admin, cert.id)).rejects.toThrow(/cannot suspend/);
        expect((await pki.revocation.reinstate(helpdesk, cert.id)).status).toBe('valid');
        crl = await currentCrl();
        expect(crl.number).toBe('3');
        expect(crl.text).toContain('No Revoked Certificates');
        expect(crl.entries).toEqual([]);
        expect(await ocsp(leaf)).toMatch(/leaf.pem: good/);

        now = new Date(now.getTime() + 5000);
        const revoked = await pki.revocation.revoke(admin, cert.id, 'keyCompromise');
        expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
        crl = await currentCrl();
        expect(crl.entries).toEqual([{ serial: up, revokedAt: toSecond(now), reason: 'keyCompromise' }]);
        o = await ocsp(leaf);
        expect(o).toMatch(/leaf.pem: revoked/);
        expect(o).toContain('Reason: keyCompromise');
        await expect(pki.revocation.reinstate(admin, cert.id)).rejects.toThrow(/cannot reinstate/);
        const [cred2] = await t.db.query<{ status: string }>('SELECT status FROM credentials WHERE id = $1', [
          person.credentialId,
        ]);
        expect(cred2!.status).toBe('revoked');

        const actions = (
          await t.db.query<{ action: string; actor_name: string }>(
            `SELECT action, actor_name FROM audit_events WHERE target_id = $1 ORDER BY seq`,
            [cert.id],
          )
        ).map((r) => `${r.action} by ${r.actor_name}`);
        expect(actions).toEqual([
          'certificate.issued by Ada Admin',
          'certificate.suspended by Hal Helpdesk',
          'certificate.reinstated by Hal Helpdesk',
          'certificate.revoked by Ada Admin',
        ]);
        expect((await verifyAudit(t.db)).ok).toBe(true);
        const found = await pki.certificates.search({
          userId: person.userId,
          status: 'revoked',
          limit: 10,
          offset: 0,
        });
        expect(found.items.map((i) => i.id)).toEqual([cert.id]);
        expect(
          (await pki.certificates.search({ serial: cert.serial.slice(0, 8), limit: 10, offset: 0 })).total,
        ).toBe(1);
        expect(
          (await pki.certificates.search({ q: 'ångström', limit: 10, offset: 0 })).total,
        ).toBeGreaterThan(0);
      });

      it('issues concurrently in groups: every certificate stored with its audit event; one bad row fails alone', async () => {
        const pem = csr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
        const plain: IssueTarget = { ...target, credentialId: null };
        const broken: IssueTarget = { ...target, credentialId: randomUUID() }; // no such credential: FK violation
        const results = await Promise.allSettled([
          ...Array.from({ length: 30 }, () => pki.issuer.issueFromCsr(admin, plain, pem)),
          pki.issuer.issueFromCsr(admin, broken, pem),
          ...Array.from({ length: 10 }, () => pki.issuer.issueFromCsr(admin, plain, pem)),
        ]);
        const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(ok).toHaveLength(40);
        expect(results[30]!.status).toBe('rejected');
        expect(new Set(ok.map((c) => c.serial)).size).toBe(40);
        const [n] = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_events WHERE action = 'certificate.issued' AND target_id = ANY($1::text[])`,
          [ok.map((c) => c.id)],
        );
        expect(n!.n).toBe(40);
        expect((await verifyAudit(t.db)).ok).toBe(true);
      });

      it('refuses a bad CSR signature and a key the policy forbids', async () => {
        const pem = csr(['-newkey', 'rsa:2048']);
        await expect(pki.issuer.issueFromCsr(admin, target, pem)).rejects.toThrow(/requires a ECCP256 key/);
        const der = Buffer.from(
          csr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']).replace(/-----[^-]+-----|\s/g, ''),
          'base64',
        );
        der[der.length - 2] = der[der.length - 2]! ^ 0xff;
        await expect(pki.issuer.issueFromCsr(admin, target, der)).rejects.toThrow(
          /signature does not verify/,
        );
        await expect(pki.issuer.issueFromCsr(admin, target, der.subarray(0, 40))).rejects.toThrow(
          /well-formed/,
        );
      });

      it('issues for a card-generated key with a signed challenge, and refuses a wrong proof', async () => {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const challenge = Buffer.from('challenge-1234');
        const spki = publicKey.export({ type: 'spki', format: 'der' });
        const t2: IssueTarget = {
          ...target,
          credentialId: null,
          profile: { ...target.profile, certificateProfile: 'card_authentication', slot: '9e' },
        };
        const c = await pki.issuer.issueForPublicKey(admin, t2, spki, {
          challenge,
          signature: sign('sha256', challenge, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
        });
        expect((await pki.certificates.get(c.id)).extendedKeyUsage).toEqual(['pivCardAuth']);
        await expect(
          pki.issuer.issueForPublicKey(admin, t2, spki, {
            challenge,
            signature: sign('sha256', Buffer.from('other'), privateKey),
          }),
        ).rejects.toThrow(/Proof of possession failed/);
        await expect(pki.issuer.issueForPublicKey(admin, t2, spki, () => false)).rejects.toThrow(
          /Proof of possession/,
        );
        // The key as an issuance run hands it over (the KeyObject the card's answer was read into):
        // the same certificate key, the proof checked against that very object; never a private key.
        let proved: unknown = null;
        const byObject = await pki.issuer.issueForPublicKeyWithDer(admin, t2, publicKey, (k) => {
          proved = k;
          return true;
        });
        expect(proved).toBe(publicKey);
        expect(certificateParts(byObject.der).spki.equals(spki)).toBe(true);
        expect((await pki.certificates.get(byObject.summary.id)).pem).toContain('BEGIN CERTIFICATE');
        await expect(pki.issuer.issueForPublicKey(admin, t2, privateKey, () => true)).rejects.toThrow(
          /Only a public key/,
        );
      });

      it('archives a key-management key and recovers it as PKCS#12 with a one-time password', async () => {
        const km: IssueTarget = {
          ...target,
          credentialId: null,
          profile: {
            name: 'Key Management',
            certificateProfile: 'key_management',
            keyAlgorithm: 'RSA2048',
            validityDays: 30,
            slot: '9d',
            archiveKey: true,
          },
        };
        const { certificate, privateKeyPkcs8 } = await pki.issuer.issueWithArchivedKey(admin, km);
        await expect(
          pki.issuer.issueWithArchivedKey(admin, { ...km, profile: { ...km.profile, archiveKey: false } }),
        ).rejects.toThrow(/does not archive/);
        const rec = await pki.keyRecovery.recover(admin, certificate.id, {
          format: 'pkcs12',
          reason: 'decrypt old mail',
        });
        if (rec.format !== 'pkcs12') throw new Error('expected pkcs12');
        expect(rec.password).toMatch(/^[A-Za-z2-9]{20}$/);
        ssl.file('rec.p12', rec.pkcs12);
        const out = ssl.runOk(['pkcs12', '-in', 'rec.p12', '-passin', `pass:${rec.password}`, '-nodes']);
        expect(out).toContain('BEGIN PRIVATE KEY');
        expect(out.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
        const p8 = await pki.keyRecovery.recover(admin, certificate.id, {
          format: 'pkcs8',
          targetDeviceId: person.deviceId,
        });
        if (p8.format !== 'pkcs8') throw new Error('expected pkcs8');
        expect(p8.pkcs8.equals(privateKeyPkcs8)).toBe(true);
        const ev = await t.db.query<{ actor_name: string; details: Record<string, unknown> }>(
          `SELECT actor_name, details FROM audit_events WHERE action = 'certificate.key_recovered' AND target_id = $1 ORDER BY seq`,
          [certificate.id],
        );
        expect(ev.map((e) => [e.actor_name, e.details.format, e.details.recoveryNumber])).toEqual([
          ['Ada Admin', 'pkcs12', 1],
          ['Ada Admin', 'pkcs8', 2],
        ]);
        expect(JSON.stringify(ev)).not.toContain(rec.password);
        const kmText = ssl.runOk([
          'x509',
          '-in',
          ssl.file('km.pem', await pki.certificates.pem(certificate.id)),
          '-noout',
          '-text',
        ]);
        expect(kmText).toContain('Key Encipherment');
        expect(
          createPublicKey(await pki.certificates.pem(certificate.id)).asymmetricKeyDetails?.modulusLength,
        ).toBe(2048);
      });

      it('imports an enterprise issuing CA from PEM and from PKCS#12; issues under it', async () => {
        const ent = await testHierarchy('RSA2048', {
          organization: 'Enterprise',
          externalUrl: 'http://pki.enterprise.test',
          now,
        });
        await expect(pki.cas.importCa(admin, { certificateChainPem: '', privateKeyPem: '' })).rejects.toThrow(
          /private key PEM cannot be read/,
        );
        await expect(
          pki.cas.importCa(admin, {
            certificateChainPem: toPem(ent.issuing.certificateDer),
            privateKeyPem: ent.rootKey.export({ type: 'pkcs8', format: 'pem' }) as string,
          }),
        ).rejects.toThrow(/belongs to the private key/);
        const imported = await pki.cas.importCa(admin, {
          certificateChainPem: toPem(ent.issuing.certificateDer) + toPem(ent.root.certificateDer),
          privateKeyPem: ent.issuingKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        });
        expect(imported).toMatchObject({
          kind: 'issuing',
          active: true,
          imported: true,
          keyAlgorithm: 'RSA2048',
        });
        expect(imported.crl?.number).toBe('1');
        const cas = await pki.cas.list();
        expect(cas.filter((c) => c.active).map((c) => c.id)).toEqual([imported.id]);
        const rsaTarget: IssueTarget = {
          ...target,
          credentialId: null,
          profile: { ...target.profile, certificateProfile: 'digital_signature', slot: '9c' },
        };
        const c = await pki.issuer.issueFromCsr(
          admin,
          rsaTarget,
          csr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
        );
        expect(c.caId).toBe(imported.id);
        ssl.file('ent-root.pem', toPem(ent.root.certificateDer));
        ssl.file('ent-chain.pem', await pki.cas.chainPem(imported.id));
        const leaf = ssl.file('ent-leaf.pem', await pki.certificates.pem(c.id));
        expect(
          // At the service clock's time: earlier steps moved it ahead of the wall clock.
          ssl.run([
            'verify',
            '-attime',
            String(Math.floor(now.getTime() / 1000)),
            '-CAfile',
            'ent-root.pem',
            '-untrusted',
            'ent-chain.pem',
            leaf,
          ]).out,
        ).toContain(': OK');

        const p12 = exportPkcs12({
          privateKey: ent.issuingKey,
          certificates: [ent.issuing.certificateDer, ent.root.certificateDer],
          password: 'pw',
        });
        await expect(
          pki.cas.importCa(admin, { pkcs12Base64: p12.toString('base64'), password: 'bad' }),
        ).rejects.toThrow(/password is wrong/);
        const again = await pki.cas.importCa(admin, { pkcs12Base64: p12.toString('base64'), password: 'pw' });
        expect(again.active).toBe(true);
        // Certificates of the earlier CAs are still answered by OCSP (signed by their own CA).
        expect(await ocsp(ssl.path('leaf.pem'))).toMatch(/leaf.pem: revoked/);
      });

      it('answers garbage OCSP with malformedRequest and keeps CRL numbers increasing', async () => {
        const r = AsnConvert.parse(await pki.ocsp.respond(Buffer.from('nonsense')), OCSPResponse);
        expect(r.responseStatus).toBe(OCSPResponseStatus.malformedRequest);
        const before = (await pki.cas.list()).find((c) => c.id === issuingId)!.crl!.number;
        now = new Date(now.getTime() + 13 * 3600e3); // past half of the 24 h validity
        expect(await pki.crls.refreshDue()).toContain(issuingId);
        expect(await pki.crls.refreshDue()).toEqual([]);
        const after = (await pki.cas.list()).find((c) => c.id === issuingId)!.crl!;
        expect(Number(after.number)).toBe(Number(before) + 1);
        expect(new Date(after.nextUpdate).getTime() - new Date(after.thisUpdate).getTime()).toBe(24 * 3600e3);
        // A CRL left stale by a status change whose re-signing did not happen is re-signed on request.
        await t.db.query('UPDATE ca_crls SET stale = true WHERE ca_id = $1', [issuingId]);
        await pki.crls.current(issuingId);
        const fresh = (await pki.cas.list()).find((c) => c.id === issuingId)!.crl!;
        expect(Number(fresh.number)).toBe(Number(after.number) + 1);
        await pki.crls.current(issuingId);
        expect((await pki.cas.list()).find((c) => c.id === issuingId)!.crl!.number).toBe(fresh.number);
      });
    },
  );
}
