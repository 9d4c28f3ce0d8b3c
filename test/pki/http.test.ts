// The PKI over HTTP, on the lead's app with the PKI routes registered, listening on loopback:
// openssl fetches OCSP answers itself (nonce checked), parses the served CRL and verifies against
// the served chain; the API enforces roles and the contract's shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { IssueTarget } from '../../src/services/pki/certificate-issuer.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { pgliteTemplate } from '../support/db.js';
import { ApiClient } from '../support/server.js';
import { seedPerson } from '../support/seed.js';
import { testHierarchy } from './fixtures.js';
import { NEW_P256_KEY, OpensslDir, hasOpenssl, toPem } from './openssl.js';
import { randomUUID } from 'node:crypto';
import { freePort } from '../support/free-port.js';

type Summary = { id: string; serial: string; status: string; revocationReason: string | null; caId: string };
type Err = { error: { code: string } };

describe.skipIf(!hasOpenssl)('PKI over HTTP (openssl as the client)', () => {
  const ssl = new OpensslDir();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-pki-http-'));
  let rt: Runtime;
  let app: FastifyInstance;
  let url: string;
  let pki: Pki;
  let issuingId: string;
  let admin: ApiClient;
  let helpdesk: ApiClient;
  let target: IssueTarget;

  beforeAll(async () => {
    // The server's own URLs (CRL DP, AIA, OCSP) must name the port it really listens on, so the
    // port is chosen first and given to the configuration.
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        host: '127.0.0.1',
        port,
        externalUrl: url,
        dataDir,
        logLevel: 'silent',
        pki: { caAlgorithm: 'ECDSA-P256' },
      },
      {},
    );
    rt = await openRuntime(config, { inMemory: true, pgliteTemplate: await pgliteTemplate() });
    const first = await rt.services.bootstrap.ensureFirstAdmin();
    const demo = await rt.services.bootstrap.seedDemo();
    pki = rt.services.pki;
    app = await buildApp(rt);
    await app.listen({ host: '127.0.0.1', port });
    issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
    admin = new ApiClient(url);
    expect((await admin.login(first.username, first.password!)).status).toBe(200);
    helpdesk = new ApiClient(url);
    expect((await helpdesk.login('hannah.help', demo!.password)).status).toBe(200);
    const p = await seedPerson(rt.db);
    target = {
      user: {
        id: p.userId,
        username: 'alice',
        displayName: 'Alice Example',
        email: 'alice@example.test',
        upn: null,
        properties: {},
      },
      profile: { certificateProfile: 'piv_authentication', keyAlgorithm: 'ECCP256', validityDays: 30 },
      deviceId: p.deviceId,
      credentialId: p.credentialId,
    };
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await rt?.close();
    ssl.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const download = async (path: string) => {
    const r = await fetch(`${url}${path}`);
    expect(r.status).toBe(200);
    return { type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
  };
  const issue = async (name: string) => {
    const c = await pki.issuer.issueFromCsr(
      { id: null, name: 'test', roles: ['admin'] },
      target,
      ssl.csr(name, NEW_P256_KEY, '/CN=x'),
    );
    const pem = await admin.call('GET', `/api/certificates/${c.id}/pem`);
    expect(pem.headers.get('content-type')).toMatch(/^text\/plain/);
    ssl.file(`${name}.pem`, await pem.text());
    return c;
  };
  const ocsp = async (leaf: string) =>
    (
      await ssl.runAsync([
        'ocsp',
        '-issuer',
        'issuing.pem',
        '-cert',
        leaf,
        '-url',
        `${url}/pki/ocsp`,
        '-CAfile',
        'root.pem',
        '-resp_text',
      ])
    ).out;

  it('serves the CA certificates (DER, PEM, chain) that openssl chains to', async () => {
    const cas = (
      await admin.json<{
        items: { id: string; kind: string; crl: { number: string; nextUpdate: string } | null }[];
      }>('GET', '/api/cas')
    ).body.items;
    const root = cas.find((c) => c.kind === 'root')!;
    expect(cas.find((c) => c.id === issuingId)!.crl!.number).toBe('1');
    const der = await download(`/pki/ca/${root.id}.crt`);
    expect(der.type).toBe('application/pkix-cert');
    ssl.file('root.der', der.body);
    ssl.runOk(['x509', '-inform', 'DER', '-in', 'root.der', '-out', 'root.pem']);
    ssl.file('issuing.pem', (await download(`/pki/ca/${issuingId}.pem`)).body);
    const chain = (await download(`/pki/ca/${issuingId}/chain.pem`)).body.toString();
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(ssl.run(['verify', '-CAfile', 'root.pem', 'issuing.pem']).out).toContain('OK');
    expect((await fetch(`${url}/pki/ca/${randomUUID()}.crt`)).status).toBe(404);
    expect((await fetch(`${url}/pki/ca/nonsense.crt`)).status).toBe(404);
  });

  it('OCSP says good, revoked on hold, good after reinstatement, revoked after revocation; the CRL agrees', async () => {
    const a = await issue('a');
    const b = await issue('b');
    expect(ssl.run(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'a.pem']).out).toContain(
      'a.pem: OK',
    );
    let out = await ocsp('a.pem');
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/a\.pem: good/);

    expect((await helpdesk.json<Summary>('POST', `/api/certificates/${a.id}/suspend`, {})).body.status).toBe(
      'suspended',
    );
    out = await ocsp('a.pem');
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/a\.pem: revoked/);
    expect(out).toContain('Reason: certificateHold');

    const denied = await helpdesk.json<Err>('POST', `/api/certificates/${b.id}/revoke`, {
      reason: 'keyCompromise',
    });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'forbidden']);
    const rev = await admin.json<Summary>('POST', `/api/certificates/${b.id}/revoke`, {
      reason: 'keyCompromise',
    });
    expect(rev.body).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });

    const crl = await download(`/pki/crl/${issuingId}.crl`);
    expect(crl.type).toBe('application/pkix-crl');
    ssl.file('cur.crl', crl.body);
    const text = ssl.run([
      'crl',
      '-inform',
      'DER',
      '-in',
      'cur.crl',
      '-CAfile',
      'issuing.pem',
      '-noout',
      '-text',
    ]).out;
    expect(text).toContain('verify OK');
    const flat = text.replace(/\s+/g, ' ');
    const entry = (serial: string) =>
      flat.split('Serial Number: ').find((e) => e.startsWith(serial.toUpperCase())) ?? '';
    expect(entry(a.serial)).toContain('CRL Reason Code: Certificate Hold');
    expect(entry(b.serial)).toContain('CRL Reason Code: Key Compromise');

    expect(
      (await helpdesk.json<Summary>('POST', `/api/certificates/${a.id}/reinstate`, {})).body.status,
    ).toBe('valid');
    out = await ocsp('a.pem');
    expect(out).toMatch(/a\.pem: good/);
    ssl.file('cur2.crl', (await download(`/pki/crl/${issuingId}.crl`)).body);
    const text2 = ssl.runOk(['crl', '-inform', 'DER', '-in', 'cur2.crl', '-noout', '-text']);
    expect(text2).not.toContain(a.serial.toUpperCase());
    expect(text2).toContain(b.serial.toUpperCase());

    await admin.json('POST', `/api/certificates/${a.id}/revoke`, { reason: 'superseded' });
    out = await ocsp('a.pem');
    expect(out).toMatch(/a\.pem: revoked/);
    expect(out).toContain('Reason: superseded');
    const again = await admin.json<Err>('POST', `/api/certificates/${a.id}/reinstate`, {});
    expect([again.status, again.body.error.code]).toEqual([409, 'illegal_transition']);

    // CRL number grew with each change; the CA page shows it.
    const cas = (await admin.json<{ items: { id: string; crl: { number: string } }[] }>('GET', '/api/cas'))
      .body.items;
    expect(Number(cas.find((c) => c.id === issuingId)!.crl.number)).toBeGreaterThanOrEqual(5);
  });

  it('OCSP over GET, and clean malformedRequest answers to garbage and truncated DER', async () => {
    await issue('g');
    ssl.run(['ocsp', '-issuer', 'issuing.pem', '-cert', 'g.pem', '-reqout', 'g.req']);
    const req = Buffer.from(ssl.runOk(['base64', '-A', '-in', 'g.req']), 'base64');
    const get = await fetch(`${url}/pki/ocsp/${encodeURIComponent(req.toString('base64'))}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/ocsp-response');
    ssl.file('g.resp', Buffer.from(await get.arrayBuffer()));
    const out = ssl.run([
      'ocsp',
      '-no_nonce',
      '-respin',
      'g.resp',
      '-issuer',
      'issuing.pem',
      '-cert',
      'g.pem',
      '-CAfile',
      'root.pem',
    ]).out;
    expect(out).toMatch(/g\.pem: good/);
    for (const body of [Buffer.from('this is not DER'), req.subarray(0, req.length - 7), Buffer.alloc(0)]) {
      const r = await fetch(`${url}/pki/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body,
      });
      expect(r.status).toBe(200);
      const parsed = AsnConvert.parse(Buffer.from(await r.arrayBuffer()), OCSPResponse);
      expect(parsed.responseStatus).toBe(OCSPResponseStatus.malformedRequest);
    }
    // An undecodable URL is refused by the router itself (400), before any OCSP code runs.
    expect((await fetch(`${url}/pki/ocsp/%%%`)).status).toBe(400);
    const bad = await fetch(`${url}/pki/ocsp/${encodeURIComponent('!!not*base64!!')}`);
    expect(AsnConvert.parse(Buffer.from(await bad.arrayBuffer()), OCSPResponse).responseStatus).toBe(
      OCSPResponseStatus.malformedRequest,
    );
  });

  it('OCSP GET carries RFC 5019 caching headers, answers If-None-Match with 304, and shows a revocation in the next answer', async () => {
    const h = await issue('h');
    ssl.run(['ocsp', '-no_nonce', '-issuer', 'issuing.pem', '-cert', 'h.pem', '-reqout', 'h.req']);
    const req = Buffer.from(ssl.runOk(['base64', '-A', '-in', 'h.req']), 'base64');
    const path = `${url}/pki/ocsp/${encodeURIComponent(req.toString('base64'))}`;
    let lastBytes = Buffer.alloc(0);
    const judge = async (r: Response) => {
      lastBytes = Buffer.from(await r.arrayBuffer());
      ssl.file('h.resp', lastBytes);
      return ssl.run([
        'ocsp',
        '-no_nonce',
        '-respin',
        'h.resp',
        '-issuer',
        'issuing.pem',
        '-cert',
        'h.pem',
        '-CAfile',
        'root.pem',
      ]).out;
    };
    const first = await fetch(path);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const cc = first.headers.get('cache-control')!;
    expect(cc).toMatch(/^max-age=\d+, public, no-transform, must-revalidate$/);
    const maxAge = Number(/max-age=(\d+)/.exec(cc)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(3600);
    const lastModified = Date.parse(first.headers.get('last-modified')!);
    const expires = Date.parse(first.headers.get('expires')!);
    expect(expires - lastModified).toBe(3600_000);
    let out = await judge(first);
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/h\.pem: good/);
    // The same bytes again (kept, not re-signed), and a conditional GET is a 304 without a body.
    const second = await fetch(path);
    expect(second.headers.get('etag')).toBe(etag);
    expect(Buffer.from(await second.arrayBuffer()).equals(lastBytes)).toBe(true);
    const conditional = await fetch(path, { headers: { 'if-none-match': etag } });
    expect(conditional.status).toBe(304);
    expect((await conditional.arrayBuffer()).byteLength).toBe(0);
    // POST of the same request: the same kept answer, but not for HTTP caches.
    const post = await fetch(`${url}/pki/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: req,
    });
    expect(post.headers.get('cache-control')).toBe('no-cache');
    expect(Buffer.from(await post.arrayBuffer()).equals(lastBytes)).toBe(true);

    await admin.json('POST', `/api/certificates/${h.id}/revoke`, { reason: 'affiliationChanged' });
    const after = await fetch(path);
    expect(after.headers.get('etag')).not.toBe(etag);
    out = await judge(after);
    expect(out).toContain('Response verify OK');
    expect(out).toMatch(/h\.pem: revoked/);
    expect(out).toContain('Reason: affiliationChanged');
    // The old validator no longer matches: a cache revalidating gets the new answer.
    expect((await fetch(path, { headers: { 'if-none-match': etag } })).status).toBe(200);
  });

  it('searches and shows certificates per the contract; refuses bad input', async () => {
    const list = await admin.json<{ items: Summary[]; total: number }>(
      'GET',
      `/api/certificates?deviceId=${target.deviceId}&limit=2`,
    );
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.total).toBeGreaterThanOrEqual(3);
    const one = list.body.items[0]!;
    const bySerial = await admin.json<{ items: Summary[] }>('GET', `/api/certificates?serial=${one.serial}`);
    expect(bySerial.body.items.map((i) => i.id)).toEqual([one.id]);
    const detail = await admin.json<Record<string, unknown>>('GET', `/api/certificates/${one.id}`);
    expect(Object.keys(detail.body).sort()).toEqual(
      [
        'id',
        'serial',
        'caId',
        'userId',
        'deviceId',
        'credentialId',
        'profile',
        'slot',
        'subject',
        'notBefore',
        'notAfter',
        'status',
        'revocationReason',
        'revokedAt',
        'pem',
        'issuer',
        'subjectAltNames',
        'keyUsage',
        'extendedKeyUsage',
        'publicKeyAlgorithm',
        'signatureAlgorithm',
        'crlDistributionPoints',
        'ocspUrls',
        'caIssuersUrls',
      ].sort(),
    );
    expect(detail.body.ocspUrls).toEqual([`${url}/pki/ocsp`]);
    expect((await admin.json<Err>('GET', `/api/certificates/${randomUUID()}`)).status).toBe(404);
    expect((await admin.json<Err>('GET', '/api/certificates?status=bogus')).status).toBe(400);
    expect(
      (await admin.json<Err>('POST', `/api/certificates/${one.id}/revoke`, { reason: 'certificateHold' }))
        .status,
    ).toBe(400);
    expect((await admin.json<Err>('POST', `/api/certificates/${one.id}/suspend`, { extra: 1 })).status).toBe(
      400,
    );
    expect((await new ApiClient(url).json<Err>('GET', '/api/certificates')).status).toBe(401);
  });

  it('recovers archived keys for administrators only', async () => {
    const c = await issue('r');
    const path = `/api/certificates/${c.id}/recover-key`;
    const denied = await helpdesk.json<Err>('POST', path, {});
    expect([denied.status, denied.body.error.code]).toEqual([403, 'forbidden']);
    // An administrator gets past the permission; this certificate's key was made on the card.
    const none = await admin.json<Err>('POST', path, {});
    expect([none.status, none.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('imports an issuing CA through the API (administrators only)', async () => {
    const ent = await testHierarchy('ECCP384', {
      organization: 'Enterprise',
      externalUrl: 'http://pki.enterprise.test',
    });
    const body = {
      certificateChainPem: toPem(ent.issuing.certificateDer) + toPem(ent.root.certificateDer),
      privateKeyPem: ent.issuingKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
    expect((await helpdesk.json<Err>('POST', '/api/cas/import', body)).status).toBe(403);
    const r = await admin.json<{ id: string; active: boolean; imported: boolean; kind: string }>(
      'POST',
      '/api/cas/import',
      body,
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ active: true, imported: true, kind: 'issuing' });
    const bad = await admin.json<Err>('POST', '/api/cas/import', { pkcs12Base64: 'AAAA', password: 'x' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
  });
});
