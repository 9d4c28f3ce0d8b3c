import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CardProtocolError } from '../../src/cards/errors.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { signChallenge, signCsr, verifyChallenge } from '../../src/cards/piv/csr.js';
import { cardApplications, memoryCard } from '../support/card-memory.js';
import { closeBrowserCards } from '../support/browser-card.js';

const run = promisify(execFile);

async function opensslVerifiesCsr(der: Uint8Array): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-csr-'));
  try {
    writeFileSync(join(dir, 'r.der'), der);
    const { stdout, stderr } = await run('openssl', [
      'req',
      '-inform',
      'DER',
      '-in',
      join(dir, 'r.der'),
      '-verify',
      '-noout',
      '-subject',
    ]);
    return stdout + stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

afterAll(closeBrowserCards);

describe.each(cardApplications)('card-signed PKCS#10 requests and challenges ($name)', (provider) => {
  it.each([
    ['RSA 2048', ALGORITHM.RSA_2048],
    ['ECC P-256', ALGORITHM.ECC_P256],
    ['ECC P-384', ALGORITHM.ECC_P384],
  ] as const)('signs a CSR that openssl verifies (%s)', async (_n, alg) => {
    const { session } = await memoryCard({ provider });
    await session.authenticate();
    const { spki } = await session.generateKey(SLOT.AUTHENTICATION, alg);
    await session.verifyPin('123456');
    const before = session.apduCount;
    const csr = await signCsr(session, SLOT.AUTHENTICATION, spki, 'CN=Alice Smith, O=Example');
    expect(session.apduCount - before).toBe(1);
    const out = await opensslVerifiesCsr(csr);
    expect(out).toMatch(/verify OK/i);
    expect(out).toMatch(/CN ?= ?Alice Smith/);
  });

  it('refuses a CSR when the slot holds another key than the one given', async () => {
    const { session } = await memoryCard({ provider });
    await session.authenticate();
    const { spki } = await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
    await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256); // replaced behind our back
    await session.verifyPin('123456');
    await expect(signCsr(session, SLOT.AUTHENTICATION, spki, 'CN=x')).rejects.toBeInstanceOf(
      CardProtocolError,
    );
  });

  it('proves possession by signing a challenge', async () => {
    const { session } = await memoryCard({ provider });
    await session.authenticate();
    const { spki } = await session.generateKey(SLOT.CARD_AUTH, ALGORITHM.ECC_P256);
    const challenge = Uint8Array.from(randomBytes(32));
    const sig = await signChallenge(session, SLOT.CARD_AUTH, spki, challenge);
    expect(verifyChallenge(spki, challenge, sig)).toBe(true);
    expect(verifyChallenge(spki, Uint8Array.from(randomBytes(32)), sig)).toBe(false);
  });
});
