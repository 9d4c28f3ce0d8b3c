// Judge: Yubico's own yubico-piv-tool, talking through pcscd and the vsmartcard reader to our
// virtual card, must see a YubiKey-compatible PIV token whose state changes as on a real one.
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padPin } from '../../src/cards/emulator/card-state.js';
import { ALGORITHM } from '../../src/cards/piv/constants.js';
import { type InsertedCard, insertVirtualCard } from '../support/card-emulator.js';
import { runTool } from '../support/card-tools.js';
import { type PcscdLease, acquirePcscd, pcscdMissing, toolMissing } from '../support/pcscd.js';

const missing = pcscdMissing() ?? toolMissing('yubico-piv-tool', 'openssl');
if (missing) console.warn(`\n*** SKIPPING yubico-piv-tool judge tests: ${missing} ***\n`);

const NEW_KEY = '0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080';
const hexPin = (p: string): string => Buffer.from(padPin(p)).toString('hex');

describe.skipIf(missing !== undefined)('yubico-piv-tool against the virtual card (pcscd + vpcd)', () => {
  let lease: PcscdLease;
  let inserted: InsertedCard;
  let dir: string;
  const ypt = (...args: string[]) => runTool('yubico-piv-tool', ['-r', 'Virtual', ...args], { cwd: dir });
  const state = () => inserted.card.snapshot();

  /** A certificate for the card's public key in `pubFile`, issued by a throwaway CA (openssl). */
  async function certificateFor(pubFile: string, out: string, cn: string): Promise<void> {
    if (!readFileSyncSafe(join(dir, 'ca.key'))) {
      await runTool('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], {
        cwd: dir,
      });
      await runTool(
        'openssl',
        ['req', '-new', '-x509', '-key', 'ca.key', '-subj', '/CN=Test CA', '-days', '30', '-out', 'ca.pem'],
        { cwd: dir },
      );
    }
    await runTool('openssl', ['req', '-new', '-key', 'ca.key', '-subj', `/CN=${cn}`, '-out', 'tmp.csr'], {
      cwd: dir,
    });
    const r = await runTool(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        'tmp.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-force_pubkey',
        pubFile,
        '-days',
        '30',
        '-set_serial',
        '7',
        '-out',
        out,
      ],
      { cwd: dir },
    );
    expect(r.code, r.output).toBe(0);
  }

  beforeAll(async () => {
    lease = await acquirePcscd();
    dir = mkdtempSync(join(tmpdir(), 'tessera-ypt-'));
    inserted = await insertVirtualCard({ file: join(dir, 'card.json') });
  });

  afterAll(async () => {
    await inserted?.remove();
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('-a status shows version, serial and PIN tries', async () => {
    const r = await ypt('-a', 'status');
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('Version:\t5.4.3');
    expect(r.stdout).toContain(`Serial Number:\t${inserted.card.serial}`);
    expect(r.stdout).toContain('PIN tries left:\t3');
  });

  it('-a verify-pin accepts the default PIN and counts a wrong one', async () => {
    expect((await ypt('-a', 'verify-pin', '-P', '123456')).output).toContain('Successfully verified PIN');
    const wrong = await ypt('-a', 'verify-pin', '-P', '000000');
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toContain('2 tries left');
    expect(state().pinCounter.remaining).toBe(2);
    expect((await ypt('-a', 'verify-pin', '-P', '123456')).code).toBe(0);
    expect(state().pinCounter.remaining).toBe(3);
  });

  it('-a change-pin and -a change-puk change them on the card', async () => {
    const r = await ypt('-a', 'change-pin', '-P', '123456', '-N', '24682468');
    expect(r.code, r.output).toBe(0);
    expect(state().pin).toBe(hexPin('24682468'));
    const p = await ypt('-a', 'change-puk', '-P', '12345678', '-N', '87654321');
    expect(p.code, p.output).toBe(0);
    expect(state().puk).toBe(hexPin('87654321'));
  });

  it('-a unblock-pin sets a new PIN on a blocked card with the PUK', async () => {
    for (let i = 0; i < 3; i += 1) await ypt('-a', 'verify-pin', '-P', '000000');
    expect(state().pinCounter.remaining).toBe(0);
    expect((await ypt('-a', 'verify-pin', '-P', '24682468')).output).toMatch(/blocked/i);
    const r = await ypt('-a', 'unblock-pin', '-P', '87654321', '-N', '13579135');
    expect(r.code, r.output).toBe(0);
    expect(state().pin).toBe(hexPin('13579135'));
    expect(state().pinCounter.remaining).toBe(3);
  });

  it('-a set-mgm-key replaces the management key', async () => {
    const r = await ypt('-a', 'set-mgm-key', '-n', NEW_KEY);
    expect(r.code, r.output).toBe(0);
    expect(state().managementKey).toMatchObject({ algorithm: ALGORITHM.TDEA_3KEY, key: NEW_KEY });
    const old = await ypt('-a', 'generate', '-s', '9a');
    expect(old.code).not.toBe(0); // default key no longer works
  });

  it('-a generate -s 9a makes a key inside the card and prints its public key', async () => {
    const r = await ypt(`--key=${NEW_KEY}`, '-a', 'generate', '-s', '9a', '-A', 'ECCP256', '-o', 'pub9a.pem');
    expect(r.code, r.output).toBe(0);
    expect(state().keys['9a']).toMatchObject({ algorithm: ALGORITHM.ECC_P256, origin: 'generated' });
    const pub = createPublicKey(readFileSync(join(dir, 'pub9a.pem')));
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('-a attest certifies the generated key with the F9 attestation key; openssl verifies the chain', async () => {
    const r = await ypt('-a', 'attest', '-s', '9a', '-o', 'attest9a.pem');
    expect(r.code, r.output).toBe(0);
    const f9 = await ypt('-a', 'read-certificate', '-s', 'f9', '-o', 'f9.pem');
    expect(f9.code, f9.output).toBe(0);
    const v = await runTool('openssl', ['verify', '-CAfile', 'f9.pem', 'attest9a.pem'], { cwd: dir });
    expect(v.output).toContain('attest9a.pem: OK');
    const att = new X509Certificate(readFileSync(join(dir, 'attest9a.pem')));
    const pub = createPublicKey(readFileSync(join(dir, 'pub9a.pem')));
    expect(att.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      pub.export({ format: 'der', type: 'spki' }),
    );
  });

  it('-a verify-pin -a selfsign-certificate signs with the slot key', async (ctx) => {
    const before = inserted.commands.length;
    const r = await ypt(
      '-a',
      'verify-pin',
      '-P',
      '13579135',
      '-a',
      'selfsign-certificate',
      '-s',
      '9a',
      '-S',
      '/CN=selfsigned/',
      '-i',
      'pub9a.pem',
      '-o',
      'self9a.pem',
    );
    const signApdus = inserted.commands.slice(before).filter((c) => c.slice(2, 4) === '87');
    if (r.code !== 0 && signApdus.length === 0 && r.output.includes('Failed signing certificate')) {
      // yubico-piv-tool 2.2.0 (Debian 12) built on OpenSSL 3 fails here before it sends any APDU,
      // with real YubiKeys too (Yubico/yubico-piv-tool#388): its X509_sign hook is ignored by OpenSSL 3.
      const why =
        'yubico-piv-tool 2.2.0 on OpenSSL 3 cannot self-sign with any card (Yubico/yubico-piv-tool#388); no APDU reached the card';
      console.warn(`\n*** SKIPPED selfsign-certificate: ${why} ***\n`);
      ctx.skip(why);
    }
    expect(r.code, r.output).toBe(0);
    const cert = new X509Certificate(readFileSync(join(dir, 'self9a.pem')));
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('-a import-certificate and -a read-certificate store and return the certificate', async () => {
    await certificateFor('pub9a.pem', 'cert9a.pem', 'holder 9a');
    const r = await ypt(`--key=${NEW_KEY}`, '-a', 'import-certificate', '-s', '9a', '-i', 'cert9a.pem');
    expect(r.code, r.output).toBe(0);
    expect(state().objects['5fc105']).toBeDefined();
    const read = await ypt('-a', 'read-certificate', '-s', '9a');
    expect(read.code, read.output).toBe(0);
    const want = new X509Certificate(readFileSync(join(dir, 'cert9a.pem')));
    expect(new X509Certificate(read.stdout).fingerprint256).toBe(want.fingerprint256);
    const status = await ypt('-a', 'status');
    expect(status.stdout).toContain('Subject DN:\tCN=holder 9a');
  });

  it('-a test-signature signs with the card and verifies against the certificate (ECC P-256, slot 9a)', async () => {
    const r = await ypt(
      '-a',
      'verify-pin',
      '-P',
      '13579135',
      '-a',
      'test-signature',
      '-s',
      '9a',
      '-i',
      'cert9a.pem',
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('Successful ECDSA verification');
  });

  it('RSA 2048 in slot 9c: generate, import certificate, test-signature (PIN policy always)', async () => {
    const g = await ypt(`--key=${NEW_KEY}`, '-a', 'generate', '-s', '9c', '-A', 'RSA2048', '-o', 'pub9c.pem');
    expect(g.code, g.output).toBe(0);
    await certificateFor('pub9c.pem', 'cert9c.pem', 'holder 9c');
    expect(
      (await ypt(`--key=${NEW_KEY}`, '-a', 'import-certificate', '-s', '9c', '-i', 'cert9c.pem')).code,
    ).toBe(0);
    const r = await ypt(
      '-a',
      'verify-pin',
      '-P',
      '13579135',
      '-a',
      'test-signature',
      '-s',
      '9c',
      '-i',
      'cert9c.pem',
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('Successful RSA verification');
  });

  it('the card survives a restart: state comes back from its file', async () => {
    await inserted.remove();
    inserted = await insertVirtualCard({ file: join(dir, 'card.json') });
    const r = await ypt('-a', 'status');
    expect(r.stdout).toContain('Subject DN:\tCN=holder 9a');
    expect(r.stdout).toContain('Subject DN:\tCN=holder 9c');
  });
});

function readFileSyncSafe(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
