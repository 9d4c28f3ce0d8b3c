// Judge: OpenSC (opensc-tool, piv-tool, and the opensc-pkcs11 module through pkcs11-tool) sees the
// virtual card in pcscd's vsmartcard reader as a PIV token, lists its certificates and keys, logs in
// with the PIN and signs; openssl verifies the signatures against the certificates' keys.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import { issueCertificateFor } from '../support/card-certs.js';
import { type InsertedCard, insertVirtualCard } from '../support/card-emulator.js';
import { OPENSC_PKCS11, runTool } from '../support/card-tools.js';
import { type PcscdLease, acquirePcscd, pcscdMissing, toolMissing } from '../support/pcscd.js';

const missing =
  pcscdMissing() ??
  toolMissing('opensc-tool', 'piv-tool', 'pkcs11-tool', 'openssl') ??
  (existsSync(OPENSC_PKCS11) ? undefined : `${OPENSC_PKCS11} is missing (apt-get install opensc-pkcs11)`);
if (missing) console.warn(`\n*** SKIPPING OpenSC judge tests: ${missing} ***\n`);

/** Personalizes a card over the memory transport: EC P-256 in 9A, RSA 2048 in 9C and 9D, with certificates. */
async function personalizedCard(): Promise<{ card: VirtualPivCard; certs: Record<string, Uint8Array> }> {
  const readers = new MemoryReaderSet();
  readers.addReader('prep');
  const card = new VirtualPivCard();
  readers.insert('prep', card);
  const s = await PivSession.open(await readers.connect('prep'));
  await s.authenticate();
  const certs: Record<string, Uint8Array> = {};
  for (const [slot, alg, cn] of [
    [SLOT.AUTHENTICATION, ALGORITHM.ECC_P256, 'Alice PIV Auth'],
    [SLOT.SIGNATURE, ALGORITHM.RSA_2048, 'Alice Signature'],
    [SLOT.KEY_MANAGEMENT, ALGORITHM.RSA_2048, 'Alice Key Mgmt'],
  ] as const) {
    const { spki } = await s.generateKey(slot, alg);
    const cert = await issueCertificateFor(spki, cn);
    await s.putCertificate(slot, cert);
    certs[slot.toString(16)] = cert;
  }
  readers.remove('prep');
  return { card, certs };
}

describe.skipIf(missing !== undefined)('OpenSC against the virtual card (pcscd + vpcd)', () => {
  let lease: PcscdLease;
  let inserted: InsertedCard;
  let dir: string;
  let certs: Record<string, Uint8Array>;
  const p11 = (...args: string[]) =>
    runTool('pkcs11-tool', ['--module', OPENSC_PKCS11, ...args], { cwd: dir });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-opensc-'));
    const prepared = await personalizedCard();
    certs = prepared.certs;
    for (const [slot, der] of Object.entries(certs)) {
      writeFileSync(join(dir, `cert${slot}.pem`), new X509Certificate(Buffer.from(der)).toString());
      writeFileSync(
        join(dir, `pub${slot}.pem`),
        new X509Certificate(Buffer.from(der)).publicKey.export({ format: 'pem', type: 'spki' }),
      );
    }
    writeFileSync(join(dir, 'data.txt'), 'Tessera signs this with a virtual card\n');
    lease = await acquirePcscd();
    inserted = await insertVirtualCard({ card: prepared.card });
  });

  afterAll(async () => {
    await inserted?.remove();
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opensc-tool lists the virtual reader with a card and names it a PIV card', async () => {
    const l = await runTool('opensc-tool', ['--list-readers']);
    expect(l.code, l.output).toBe(0);
    expect(l.stdout).toMatch(/Yes\s+Virtual PCD 00 00/);
    const n = await runTool('opensc-tool', ['-r', '0', '--name']);
    expect(n.stdout).toContain('Personal Identity Verification Card');
    const atr = await runTool('opensc-tool', ['-r', '0', '--atr']);
    expect(atr.stdout.toLowerCase()).toContain(
      '3b:fd:13:00:00:81:31:fe:15:80:73:c0:21:c0:57:59:75:62:69:4b:65:79:40',
    );
  });

  it('piv-tool identifies the card, sends APDUs, and loads a certificate after mutual authentication', async () => {
    expect((await runTool('piv-tool', ['-r', '0', '-n'])).stdout).toContain(
      'Personal Identity Verification Card',
    );
    const v = await runTool('piv-tool', ['-r', '0', '-s', '00:FD:00:00:00']);
    expect(v.output).toContain('SW1=0x90, SW2=0x00');
    expect(v.output).toContain('05 04 03');
    writeFileSync(join(dir, 'mgm.hex'), '010203040506070801020304050607080102030405060708');
    const load = await runTool('piv-tool', ['-r', '0', '-A', 'M:9B:03', '-C', '9E', '-i', 'cert9a.pem'], {
      env: { PIV_EXT_AUTH_KEY: join(dir, 'mgm.hex') },
      cwd: dir,
    });
    expect(load.output).not.toMatch(/failed/i);
    expect(inserted.card.snapshot().objects['5fc101']).toBeDefined();
    // A wrong management key is refused and nothing is written.
    writeFileSync(join(dir, 'bad.hex'), '0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080');
    const before9c = inserted.card.snapshot().objects['5fc10a'];
    const bad = await runTool('piv-tool', ['-r', '0', '-A', 'M:9B:03', '-C', '9C', '-i', 'cert9a.pem'], {
      env: { PIV_EXT_AUTH_KEY: join(dir, 'bad.hex') },
      cwd: dir,
    });
    expect(bad.output).toMatch(/admin_mode failed/);
    expect(inserted.card.snapshot().objects['5fc10a']).toBe(before9c);
  });

  it('pkcs11-tool lists the token, its certificates and its keys', async () => {
    const slots = await p11('--list-token-slots');
    expect(slots.code, slots.output).toBe(0);
    expect(slots.stdout).toContain('Virtual PCD 00 00');
    expect(slots.stdout).toMatch(/token flags\s+:.*login required/);
    const objects = await p11('--list-objects');
    expect(objects.stdout).toContain('Certificate for PIV Authentication');
    expect(objects.stdout).toContain('CN=Alice PIV Auth');
    expect(objects.stdout).toContain('Certificate for Key Management');
    expect(objects.stdout).toMatch(/Public Key Object; EC/);
    expect(objects.stdout).toMatch(/Public Key Object; RSA 2048 bits/);
    const priv = await p11('--login', '--pin', '123456', '--list-objects', '--type', 'privkey');
    expect(priv.code, priv.output).toBe(0);
    expect(priv.stdout).toMatch(/Private Key Object; EC/);
    expect(priv.stdout).toMatch(/Private Key Object; RSA/);
  });

  it('refuses a wrong PIN at login and the card counts it', async () => {
    const r = await p11('--login', '--pin', '999999', '--list-objects', '--type', 'privkey');
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/CKR_PIN_INCORRECT/);
    expect(inserted.card.snapshot().pinCounter.remaining).toBe(2);
  });

  it('logs in and signs with the EC key of slot 9A; openssl verifies with the certificate key', async () => {
    const r = await p11(
      '--login',
      '--pin',
      '123456',
      '--sign',
      '--id',
      '01',
      '-m',
      'ECDSA-SHA256',
      '--signature-format',
      'openssl',
      '-i',
      'data.txt',
      '-o',
      'sig9a.der',
    );
    expect(r.code, r.output).toBe(0);
    const v = await runTool(
      'openssl',
      ['dgst', '-sha256', '-verify', 'pub9a.pem', '-signature', 'sig9a.der', 'data.txt'],
      { cwd: dir },
    );
    expect(v.output).toContain('Verified OK');
    expect(inserted.card.snapshot().pinCounter.remaining).toBe(3);
  });

  it('signs with the RSA key of slot 9C (PIN always: context-specific login); openssl verifies', async () => {
    const r = await p11(
      '--login',
      '--pin',
      '123456',
      '--sign',
      '--id',
      '02',
      '-m',
      'SHA256-RSA-PKCS',
      '-i',
      'data.txt',
      '-o',
      'sig9c.bin',
    );
    expect(r.code, r.output).toBe(0);
    const v = await runTool(
      'openssl',
      ['dgst', '-sha256', '-verify', 'pub9c.pem', '-signature', 'sig9c.bin', 'data.txt'],
      { cwd: dir },
    );
    expect(v.output).toContain('Verified OK');
  });

  it('decrypts with the RSA key of slot 9D what openssl encrypted to the certificate key', async () => {
    const e = await runTool(
      'openssl',
      ['pkeyutl', '-encrypt', '-pubin', '-inkey', 'pub9d.pem', '-in', 'data.txt', '-out', 'enc.bin'],
      { cwd: dir },
    );
    expect(e.code, e.output).toBe(0);
    const r = await p11(
      '--login',
      '--pin',
      '123456',
      '--decrypt',
      '--id',
      '03',
      '-m',
      'RSA-PKCS',
      '-i',
      'enc.bin',
      '-o',
      'dec.txt',
    );
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(dir, 'dec.txt'), 'utf8')).toBe('Tessera signs this with a virtual card\n');
  });
});
