// The personalization an issuance performs, as one scenario the PIV client must pass over every
// transport: it changes every secret, generates a key, has the card sign a CSR, writes the
// certificate, CHUID and CCC, reads back what it wrote, counts a wrong PIN, unblocks it with the PUK
// and signs with the new key.
import { X509Certificate, verify } from 'node:crypto';
import { expect } from 'vitest';
import { InvalidPinError } from '../../src/cards/errors.js';
import { ALGORITHM, DEFAULT_MANAGEMENT_KEY, SLOT } from '../../src/cards/piv/constants.js';
import { signCsr } from '../../src/cards/piv/csr.js';
import { newChuid } from '../../src/cards/piv/objects.js';
import type { PivSession } from '../../src/cards/piv/piv-session.js';
import { issueCertificateFor } from './card-certs.js';

export const SCENARIO_MGMT_KEY = Uint8Array.from(
  Buffer.from('a1a2a3a4a5a6a7a8b1b2b3b4b5b6b7b8c1c2c3c4c5c6c7c8', 'hex'),
);

export interface ScenarioStats {
  apdus: Record<string, number>;
  ms: Record<string, number>;
}

export async function personalizationScenario(session: PivSession): Promise<ScenarioStats> {
  const stats: ScenarioStats = { apdus: {}, ms: {} };
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const a = session.apduCount;
    const t = Date.now();
    const r = await fn();
    stats.apdus[name] = session.apduCount - a;
    stats.ms[name] = Date.now() - t;
    return r;
  };
  const serial = await step('get serial', () => session.getSerial());
  expect(serial.source).toBe('yubico');
  await step('authenticate (default key)', () => session.authenticate(DEFAULT_MANAGEMENT_KEY));
  await step('set management key', () => session.setManagementKey(SCENARIO_MGMT_KEY, ALGORITHM.AES_192));
  await step('authenticate (new key)', () => session.authenticate(SCENARIO_MGMT_KEY));
  await step('verify PIN', () => session.verifyPin('123456'));
  await step('set PIN/PUK retries', () => session.setPinRetries(5, 3));
  await step('change PIN', () => session.changePin('123456', '20252025'));
  await step('change PUK', () => session.changePuk('12345678', '87878787'));
  const { spki } = await step('generate RSA 2048 (9A)', () =>
    session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.RSA_2048),
  );
  await step('verify PIN', () => session.verifyPin('20252025'));
  const csr = await step('sign CSR', () => signCsr(session, SLOT.AUTHENTICATION, spki, 'CN=Scenario Holder'));
  expect(csr[0]).toBe(0x30);
  const cert = await issueCertificateFor(spki, 'Scenario Holder');
  await step('put certificate', () => session.putCertificate(SLOT.AUTHENTICATION, cert));
  await step('put CHUID', () => session.putChuid(newChuid(new Date('2030-12-31T00:00:00Z'))));
  await step('put CCC', () => session.putCcc());
  const back = await step('read certificate', () => session.getCertificate(SLOT.AUTHENTICATION));
  expect(Buffer.from(back!)).toEqual(Buffer.from(cert));
  expect(await session.getReferenceMetadata(0x80)).toEqual({ isDefault: false, total: 5, remaining: 5 });
  // What yubico-piv-tool's verify-pin, unblock-pin and test-signature do, done by our client.
  await expect(step('wrong PIN', () => session.verifyPin('11112222'))).rejects.toBeInstanceOf(
    InvalidPinError,
  );
  expect(await session.getPinStatus()).toEqual({ verified: false, attemptsRemaining: 4 });
  await step('unblock PIN', () => session.unblockPin('87878787', '30303030'));
  await step('verify PIN', () => session.verifyPin('30303030'));
  const data = Buffer.from('test signature');
  const signature = await step('sign', () => session.sign(SLOT.AUTHENTICATION, ALGORITHM.RSA_2048, data));
  expect(verify('sha256', data, new X509Certificate(Buffer.from(cert)).publicKey, signature)).toBe(true);
  return stats;
}
