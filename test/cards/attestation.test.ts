import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ALGORITHM, PIN_POLICY, SLOT } from '../../src/cards/piv/constants.js';
import { cardApplications, memoryCard } from '../support/card-memory.js';
import { closeBrowserCards } from '../support/browser-card.js';

afterAll(closeBrowserCards);

describe.each(cardApplications)('Yubico attestation on the virtual card ($name)', (provider) => {
  it('certifies a generated key with the F9 attestation key, with Yubico extensions', async () => {
    const { session } = await memoryCard({ provider });
    await session.authenticate();
    const { spki } = await session.generateKey(SLOT.SIGNATURE, ALGORITHM.ECC_P384, {
      pinPolicy: PIN_POLICY.ONCE,
    });
    const before = session.apduCount;
    const att = new X509Certificate(Buffer.from(await session.attest(SLOT.SIGNATURE)));
    expect(session.apduCount - before).toBe(1);
    const f9 = new X509Certificate(Buffer.from((await session.getCertificate(SLOT.ATTESTATION))!));
    expect(att.verify(f9.publicKey)).toBe(true);
    expect(att.checkIssued(f9)).toBe(true);
    expect(f9.ca).toBe(true);
    expect(att.subject).toBe('CN=YubiKey PIV Attestation 9c');
    expect(Buffer.from(att.publicKey.export({ format: 'der', type: 'spki' }))).toEqual(Buffer.from(spki));
    const der = Buffer.from(att.raw).toString('hex');
    // OID 1.3.6.1.4.1.41482.3.7 (serial) and .3.8 (policy: PIN once, touch never) with their values.
    expect(der).toContain('060a2b0601040182c40a0307');
    expect(der).toContain('060a2b0601040182c40a030804020201');
    expect(der).toContain('060a2b0601040182c40a030304030504' + '03');
  });

  it('refuses to attest an imported key or an empty slot, and keeps its identity across a reset', async () => {
    const { session } = await memoryCard({ provider });
    await session.authenticate();
    await expect(session.attest(SLOT.AUTHENTICATION)).rejects.toMatchObject({ sw: 0x6a88 });
    await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
    await session.attest(SLOT.AUTHENTICATION);
    const f9 = await session.getCertificate(SLOT.ATTESTATION);
    for (let i = 0; i < 3; i += 1) await session.verifyPin('000000').catch(() => undefined);
    for (let i = 0; i < 3; i += 1) await session.changePuk('00000000', '00000000').catch(() => undefined);
    await session.reset();
    expect(await session.getCertificate(SLOT.ATTESTATION)).toEqual(f9);
  });
});
