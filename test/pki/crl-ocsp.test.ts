// CRL and OCSP answers judged by openssl: signature, CRL number, entries with their reasons,
// OCSP good / revoked (hold and revocation) / unknown, nonce echo, and clean refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicOCSPResponse, OCSPResponse, OCSPResponseStatus, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { generateKeyPair, spkiOf } from '../../src/pki/algorithms.js';
import { CompiledProfile } from '../../src/pki/cert-template.js';
import { buildCrl } from '../../src/pki/crl.js';
import { subjectAltNamesFor } from '../../src/pki/leaf.js';
import { MALFORMED_REQUEST, respondOcsp, type OcspStatus } from '../../src/pki/ocsp.js';
import { randomSerial, serialHex } from '../../src/pki/serial.js';
import type { SigningCa } from '../../src/pki/signing-ca.js';
import { renderSubject, DEFAULT_SUBJECT_TEMPLATE } from '../../src/pki/subject.js';
import { alice, testHierarchy } from './fixtures.js';
import { opensslReadCrl, parseCrlDer, toSecond } from './crl-reading.js';
import { OpensslDir, hasOpenssl, toPem } from './openssl.js';

describe.skipIf(!hasOpenssl)('CRL and OCSP', () => {
  const ssl = new OpensslDir();
  let root: SigningCa;
  let issuing: SigningCa;
  const leaves: { serial: string; file: string }[] = [];

  beforeAll(async () => {
    ({ root, issuing } = await testHierarchy('ECCP256'));
    ssl.file('root.pem', toPem(root.certificateDer));
    ssl.file('issuing.pem', toPem(issuing.certificateDer));
    ssl.file('chain.pem', toPem(issuing.certificateDer) + toPem(root.certificateDer));
    const tpl = new CompiledProfile(issuing, 'piv_authentication', true);
    for (let i = 0; i < 3; i++) {
      const serial = randomSerial();
      const der = await tpl.issue({
        profile: 'piv_authentication',
        serial,
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 864e5),
        subject: renderSubject(DEFAULT_SUBJECT_TEMPLATE, alice),
        subjectAltNames: subjectAltNamesFor('piv_authentication', alice, { uuid: randomUUID(), fascn: null }),
        spki: spkiOf(generateKeyPair('ECCP256').publicKey),
        ecKey: true,
      });
      leaves.push({ serial: serialHex(serial), file: ssl.file(`leaf${i}.pem`, toPem(der)) });
    }
  });
  afterAll(() => ssl.dispose());

  it('builds a CRL openssl verifies, with number, hold and revocation reasons', async () => {
    const now = new Date();
    const crl = await buildCrl(issuing, {
      crlNumber: 41,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 3600e3),
      entries: [
        { serialHex: leaves[0]!.serial, revokedAt: now, reason: 'certificateHold' },
        { serialHex: leaves[1]!.serial, revokedAt: now, reason: 'keyCompromise' },
      ],
    });
    ssl.file('issuing.crl', crl);
    const { verified, text: _text, ...seen } = opensslReadCrl(ssl, 'issuing.crl', 'chain.pem');
    expect(verified).toBe(true);
    expect(seen).toEqual(parseCrlDer(crl));
    expect(seen).toEqual({
      number: '41',
      thisUpdate: toSecond(now),
      nextUpdate: toSecond(new Date(now.getTime() + 3600e3)),
      entries: [
        { serial: leaves[0]!.serial.toUpperCase(), revokedAt: toSecond(now), reason: 'certificateHold' },
        { serial: leaves[1]!.serial.toUpperCase(), revokedAt: toSecond(now), reason: 'keyCompromise' },
      ],
    });
    // openssl verify with the CRL: the revoked leaf is refused, the untouched one passes.
    ssl.file('issuing-crl.pem', toPem(crl, 'X509 CRL'));
    ssl.file(
      'root.crl.pem',
      toPem(
        await buildCrl(root, {
          crlNumber: 1,
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + 3600e3),
          entries: [],
        }),
        'X509 CRL',
      ),
    );
    const crlArgs = [
      'verify',
      '-crl_check_all',
      '-CAfile',
      'root.pem',
      '-untrusted',
      'issuing.pem',
      '-CRLfile',
      'issuing-crl.pem',
      '-CRLfile',
      'root.crl.pem',
    ];
    expect(ssl.run([...crlArgs, leaves[1]!.file]).out).toContain('certificate revoked');
    expect(ssl.run([...crlArgs, leaves[2]!.file]).out).toContain(': OK');
  });

  async function ask(leaf: string, statuses: Record<string, OcspStatus>) {
    const reqDer = ssl.ocspRequest('issuing.pem', leaf);
    const resp = await respondOcsp(reqDer, {
      cas: [root, issuing],
      lookup: async (caId, serial) => {
        expect(caId).toBe(issuing.id);
        return statuses[serial] ?? { status: 'unknown' };
      },
      now: new Date(),
      validitySeconds: 300,
    });
    return { reqDer, resp, out: ssl.ocspReading(resp, { issuer: 'issuing.pem', leaf, caFile: 'root.pem' }) };
  }

  it('answers good, revoked with reason, hold, and unknown; echoes the nonce', async () => {
    const [l0, l1, l2] = leaves as [(typeof leaves)[0], (typeof leaves)[0], (typeof leaves)[0]];
    const statuses: Record<string, OcspStatus> = {
      [l0.serial]: { status: 'good' },
      [l1.serial]: { status: 'revoked', revokedAt: new Date(), reason: 'keyCompromise' },
      [l2.serial]: { status: 'revoked', revokedAt: new Date(), reason: 'certificateHold' },
    };
    const good = await ask(l0.file, statuses);
    expect(good.out).toContain('Response verify OK');
    expect(good.out).toMatch(/leaf0.pem: good/);
    const revoked = await ask(l1.file, statuses);
    expect(revoked.out).toMatch(/leaf1.pem: revoked/);
    expect(revoked.out).toContain('Reason: keyCompromise');
    const hold = await ask(l2.file, statuses);
    expect(hold.out).toContain('Reason: certificateHold');
    const unknown = await ask(l0.file, {});
    expect(unknown.out).toMatch(/leaf0.pem: unknown/);
    // Nonce: the request's nonce extension comes back unchanged.
    const resp = AsnConvert.parse(good.resp, OCSPResponse);
    const basic = AsnConvert.parse(resp.responseBytes!.response.buffer, BasicOCSPResponse);
    const nonce = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
    expect(nonce).toBeDefined();
    expect(good.reqDer.includes(Buffer.from(nonce!.extnValue.buffer))).toBe(true);
  });

  it('answers garbage and truncated requests with malformedRequest', async () => {
    const reqDer = ssl.ocspRequest('issuing.pem', leaves[0]!.file);
    const opts = {
      cas: [issuing],
      lookup: async () => ({ status: 'good' }) as const,
      now: new Date(),
      validitySeconds: 60,
    };
    for (const body of [
      Buffer.from('garbage!'),
      Buffer.alloc(0),
      reqDer.subarray(0, reqDer.length - 5),
      Buffer.concat([reqDer, Buffer.from([0])]),
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    ]) {
      const r = await respondOcsp(body, opts);
      expect(r.equals(MALFORMED_REQUEST)).toBe(true);
      expect(AsnConvert.parse(r, OCSPResponse).responseStatus).toBe(OCSPResponseStatus.malformedRequest);
    }
    const failing = await respondOcsp(reqDer, {
      ...opts,
      lookup: async () => {
        throw new Error('db down');
      },
    });
    expect(AsnConvert.parse(failing, OCSPResponse).responseStatus).toBe(OCSPResponseStatus.internalError);
  });
});
