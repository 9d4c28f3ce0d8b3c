// The CA knows its keys only as Signers. The soft signer refuses what its key cannot do; a CA
// refuses a key that is not its certificate's; and a key store that is not the soft one — here a
// stand-in for a PKCS#11 token, keys held apart and rows holding only a label — runs the whole CA:
// hierarchy, issuance, CRL and OCSP, judged by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import {
  generateKeyPair,
  spkiOf,
  type KeyAlgorithm,
  type SignatureAlgorithm,
} from '../../src/pki/algorithms.js';
import { SoftSigner, type Signer } from '../../src/pki/signer.js';
import { signingCa } from '../../src/pki/signing-ca.js';
import type { Actor } from '../../src/services/context.js';
import type { CaKeyStore, StoredCaKey } from '../../src/services/pki/ca-keys.js';
import type { Pki } from '../../src/services/pki/pki.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testHierarchy, testPki } from './fixtures.js';
import { opensslReadCrl } from './crl-reading.js';
import { OpensslDir, hasOpenssl } from './openssl.js';

describe('SoftSigner and the CA it signs for', () => {
  it('signs only with algorithms of its key kind', async () => {
    const ec = SoftSigner.generate('ECCP256');
    await expect(ec.sign('RS256', Buffer.from('x'))).rejects.toThrow(/EC key cannot sign RS256/);
    const rsa = SoftSigner.generate('RSA2048');
    await expect(rsa.sign('ES256', Buffer.from('x'))).rejects.toThrow(/RSA key cannot sign ES256/);
    expect((await ec.sign('ES384', Buffer.from('x')))[0]).toBe(0x30); // DER ECDSA-Sig-Value
  });

  it('refuses to sign for a certificate that is not its key’s', async () => {
    const { issuing } = await testHierarchy('ECCP256');
    expect(() =>
      signingCa({
        id: issuing.id,
        certificateDer: issuing.certificateDer,
        signer: SoftSigner.generate('ECCP256'),
        externalUrl: 'https://cms.example.test',
      }),
    ).toThrow(/does not match its certificate/);
  });
});

/** Keys kept apart from the database, as a token keeps them; a row holds only the key's label. */
class TokenKeys implements CaKeyStore {
  readonly keys = new Map<string, KeyObject>();
  readonly signatures = new Map<string, number>();

  async generate(caId: string, algorithm: KeyAlgorithm): Promise<StoredCaKey> {
    return this.adopt(caId, generateKeyPair(algorithm).privateKey);
  }

  async adopt(caId: string, privateKey: KeyObject): Promise<StoredCaKey> {
    const label = `token:${caId}`;
    this.keys.set(label, privateKey);
    return { signer: this.#signer(label), sealed: Buffer.from(label) };
  }

  async open(_caId: string, sealed: Buffer): Promise<Signer> {
    return this.#signer(sealed.toString());
  }

  #signer(label: string): Signer {
    const key = this.keys.get(label);
    if (!key) throw new Error(`no key ${label} on the token`);
    return {
      spki: spkiOf(createPublicKey(key)),
      sign: async (alg: SignatureAlgorithm, data: Uint8Array) => {
        this.signatures.set(label, (this.signatures.get(label) ?? 0) + 1);
        return sign(alg.endsWith('384') ? 'sha384' : 'sha256', data, key);
      },
    };
  }
}

describe.skipIf(!hasOpenssl)('a CA whose keys live outside the database', () => {
  const ssl = new OpensslDir();
  const token = new TokenKeys();
  const admin: Actor = { id: null, name: 'Ada Admin', roles: ['admin'] };
  let t: TestDb;
  let pki: Pki;
  let issuingId: string;

  beforeAll(async () => {
    t = await openTestDb('pglite');
    pki = testPki(t.db, { now: () => new Date() }, { caAlgorithm: 'ECDSA-P384', caKeys: token });
    issuingId = (await pki.cas.ensureHierarchy()).issuingCaId;
    const root = (await pki.cas.list()).find((c) => c.kind === 'root')!;
    ssl.file('root.pem', await pki.cas.certificatePem(root.id));
    ssl.file('issuing.pem', await pki.cas.certificatePem(issuingId));
  }, 60_000);
  afterAll(async () => {
    ssl.dispose();
    await t?.drop();
  });

  it('keeps only the key labels in the database', async () => {
    const rows = await t.db.query<{ id: string; encrypted_key: Uint8Array }>(
      'SELECT id, encrypted_key FROM cas ORDER BY id',
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(Buffer.from(r.encrypted_key).toString()).toBe(`token:${r.id}`);
    expect(() =>
      createPrivateKey({ key: Buffer.from(rows[0]!.encrypted_key), format: 'der', type: 'pkcs8' }),
    ).toThrow();
  });

  it('issues, revokes, publishes the CRL and answers OCSP through the token’s signers', async () => {
    const before = token.signatures.get(`token:${issuingId}`) ?? 0;
    const cert = await pki.issuer.issueFromCsr(
      admin,
      {
        user: { id: null, username: 'alice', displayName: 'Alice', email: null, upn: null, properties: {} },
        profile: { certificateProfile: 'piv_authentication', keyAlgorithm: 'ECCP256', validityDays: 30 },
      },
      ssl.csr('r'),
    );
    ssl.file('leaf.pem', await pki.certificates.pem(cert.id));
    expect(ssl.run(['verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'leaf.pem']).out).toContain(
      'leaf.pem: OK',
    );
    await pki.revocation.revoke(admin, cert.id, 'keyCompromise');
    ssl.file('cur.crl', await pki.crls.current(issuingId));
    const crl = opensslReadCrl(ssl, 'cur.crl', 'issuing.pem');
    expect(crl.verified).toBe(true);
    expect(crl.entries).toMatchObject([{ serial: cert.serial.toUpperCase(), reason: 'keyCompromise' }]);
    const answer = await pki.ocsp.respond(ssl.ocspRequest('issuing.pem', 'leaf.pem'));
    const ocsp = ssl.ocspReading(answer, { issuer: 'issuing.pem', leaf: 'leaf.pem', caFile: 'root.pem' });
    expect(ocsp).toContain('Response verify OK');
    expect(ocsp).toMatch(/leaf.pem: revoked/);
    // Certificate, CRL and OCSP answer: three signatures by the issuing CA's token key.
    expect((token.signatures.get(`token:${issuingId}`) ?? 0) - before).toBe(3);
  });
});
