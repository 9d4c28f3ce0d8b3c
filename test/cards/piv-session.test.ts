import { createECDH, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AuthenticationFailedError,
  InvalidPinError,
  PinBlockedError,
  SecurityStatusNotSatisfied,
} from '../../src/cards/errors.js';
import {
  ALGORITHM,
  DEFAULT_MANAGEMENT_KEY,
  OBJECT,
  PIN_POLICY,
  SLOT,
} from '../../src/cards/piv/constants.js';
import { newChuid } from '../../src/cards/piv/objects.js';
import { cardApplications, memoryCard } from '../support/card-memory.js';
import { closeBrowserCards } from '../support/browser-card.js';
import { selfSignedCertificate } from '../support/card-certs.js';

const AES_KEY = Uint8Array.from(
  Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex'),
);

afterAll(closeBrowserCards);

describe.each(cardApplications)(
  'PivSession against the virtual card (memory transport) ($name)',
  (provider) => {
    it('selects PIV and reads version, serial and PIN status from a new card', async () => {
      const { session, card } = await memoryCard({ provider });
      expect(session.version).toEqual([5, 4, 3]);
      expect(session.protocol.extended).toBe(true);
      expect(await session.getSerial()).toEqual({ serial: String(card.serial), source: 'yubico' });
      expect(await session.getPinStatus()).toEqual({ verified: false, attemptsRemaining: 3 });
      expect(await session.getReferenceMetadata(0x80)).toEqual({ isDefault: true, total: 3, remaining: 3 });
      expect(await session.getManagementKeyMetadata()).toEqual({
        algorithm: 3,
        isDefault: true,
        touch: false,
      });
      expect(await session.getCertificate(SLOT.AUTHENTICATION)).toBeUndefined();
    });

    it('counts wrong PINs, blocks, unblocks with the PUK', async () => {
      const { session } = await memoryCard({ provider });
      await expect(session.verifyPin('000000')).rejects.toMatchObject({ attemptsRemaining: 2, sw: 0x63c2 });
      await expect(session.verifyPin('000000')).rejects.toBeInstanceOf(InvalidPinError);
      await session.verifyPin('123456'); // a right PIN resets the counter
      expect(await session.getPinStatus()).toEqual({ verified: true });
      for (const left of [2, 1, 0]) {
        await expect(session.verifyPin('999999')).rejects.toMatchObject({ attemptsRemaining: left });
      }
      await expect(session.verifyPin('123456')).rejects.toBeInstanceOf(PinBlockedError);
      expect(await session.getPinStatus()).toEqual({ verified: false, attemptsRemaining: 0 });
      await expect(session.unblockPin('00000000', '222222')).rejects.toMatchObject({ attemptsRemaining: 2 });
      await session.unblockPin('12345678', '222222');
      await session.verifyPin('222222');
    });

    it('changes PIN and PUK; refuses a too-short new PIN with 6A80', async () => {
      const { session } = await memoryCard({ provider });
      await session.changePin('123456', '87654321');
      await expect(session.verifyPin('123456')).rejects.toBeInstanceOf(InvalidPinError);
      await session.verifyPin('87654321');
      await session.changePuk('12345678', '11223344');
      await expect(session.changePuk('12345678', '11223344')).rejects.toMatchObject({ attemptsRemaining: 2 });
      await expect(session.changePin('87654321', '12345')).rejects.toThrow(RangeError);
      expect((await session.getReferenceMetadata(0x81)).isDefault).toBe(false);
    });

    it.each([
      [
        '3DES',
        ALGORITHM.TDEA_3KEY,
        Uint8Array.from(Buffer.from('0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080', 'hex')),
      ],
      ['AES-128', ALGORITHM.AES_128, AES_KEY.subarray(0, 16)],
      ['AES-192', ALGORITHM.AES_192, AES_KEY.subarray(0, 24)],
      ['AES-256', ALGORITHM.AES_256, AES_KEY],
    ] as const)(
      'authenticates with the default key, sets a %s management key and authenticates with it',
      async (_n, alg, key) => {
        const { session } = await memoryCard({ provider });
        await expect(session.putObject(OBJECT.CHUID, Uint8Array.of(1))).rejects.toBeInstanceOf(
          SecurityStatusNotSatisfied,
        );
        await session.authenticate(DEFAULT_MANAGEMENT_KEY);
        await session.setManagementKey(key, alg);
        await expect(session.authenticate(DEFAULT_MANAGEMENT_KEY, ALGORITHM.TDEA_3KEY)).rejects.toBeTruthy();
        await session.authenticate(key); // algorithm learned from metadata
        expect((await session.getManagementKeyMetadata()).algorithm).toBe(alg);
      },
    );

    it('rejects a wrong management key', async () => {
      const { session } = await memoryCard({ provider });
      const wrong = Uint8Array.from(DEFAULT_MANAGEMENT_KEY).fill(9, 0, 8);
      await expect(session.authenticate(wrong, ALGORITHM.TDEA_3KEY)).rejects.toBeInstanceOf(
        AuthenticationFailedError,
      );
    });

    it.each([
      ['RSA 2048', ALGORITHM.RSA_2048, 'sha256'],
      ['ECC P-256', ALGORITHM.ECC_P256, 'sha256'],
      ['ECC P-384', ALGORITHM.ECC_P384, 'sha384'],
    ] as const)('generates a %s key inside the card and signs with it', async (_n, alg, hash) => {
      const { session } = await memoryCard({ provider });
      await expect(session.generateKey(SLOT.AUTHENTICATION, alg)).rejects.toBeInstanceOf(
        SecurityStatusNotSatisfied,
      );
      await session.authenticate();
      const { publicKey, spki } = await session.generateKey(SLOT.AUTHENTICATION, alg);
      expect(spki[0]).toBe(0x30);
      const message = Buffer.from('proof of possession');
      await expect(session.sign(SLOT.AUTHENTICATION, alg, message, hash)).rejects.toBeInstanceOf(
        SecurityStatusNotSatisfied,
      );
      await session.verifyPin('123456');
      const signature = await session.sign(SLOT.AUTHENTICATION, alg, message, hash);
      expect(verify(hash, message, publicKey, signature)).toBe(true);
      const md = await session.getSlotMetadata(SLOT.AUTHENTICATION);
      expect(md).toMatchObject({ algorithm: alg, origin: 'generated', pinPolicy: PIN_POLICY.ONCE });
      expect(md!.publicKey.export({ format: 'der', type: 'spki' })).toEqual(Buffer.from(spki));
    });

    it('enforces PIN policy "always" on the signature slot and "never" on card authentication', async () => {
      const { session } = await memoryCard({ provider });
      await session.authenticate();
      await session.generateKey(SLOT.SIGNATURE, ALGORITHM.ECC_P256);
      await session.generateKey(SLOT.CARD_AUTH, ALGORITHM.ECC_P256);
      await session.sign(SLOT.CARD_AUTH, ALGORITHM.ECC_P256, Buffer.from('x')); // no PIN needed
      await session.verifyPin('123456');
      await session.sign(SLOT.SIGNATURE, ALGORITHM.ECC_P256, Buffer.from('x'));
      await expect(session.sign(SLOT.SIGNATURE, ALGORITHM.ECC_P256, Buffer.from('x'))).rejects.toBeInstanceOf(
        SecurityStatusNotSatisfied,
      );
    });

    it('computes an ECDH shared secret with a slot key', async () => {
      const { session } = await memoryCard({ provider });
      await session.authenticate();
      const { publicKey } = await session.generateKey(SLOT.KEY_MANAGEMENT, ALGORITHM.ECC_P256);
      await session.verifyPin('123456');
      const peer = createECDH('prime256v1');
      peer.generateKeys();
      const secret = await session.calculateSecret(
        SLOT.KEY_MANAGEMENT,
        ALGORITHM.ECC_P256,
        peer.getPublicKey(),
      );
      const cardPoint = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
      const expected = peer.computeSecret(
        Buffer.concat([
          Buffer.of(4),
          cardPoint,
          Buffer.from(publicKey.export({ format: 'jwk' }).y!, 'base64url'),
        ]),
      );
      expect(Buffer.from(secret)).toEqual(expected);
    });

    it.each([
      ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, ALGORITHM.RSA_2048],
      ['ECC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, ALGORITHM.ECC_P384],
    ] as const)('imports a %s key that then signs', async (_n, make, alg) => {
      const { session } = await memoryCard({ provider });
      const key = make();
      await session.authenticate();
      await session.importKey(0x82, key, { pinPolicy: PIN_POLICY.NEVER });
      const sig = await session.sign(0x82, alg, Buffer.from('imported'));
      expect(verify('sha256', Buffer.from('imported'), key, sig)).toBe(true);
      expect(await session.getSlotMetadata(0x82)).toMatchObject({
        origin: 'imported',
        pinPolicy: PIN_POLICY.NEVER,
      });
    });

    it('stores certificates with CertInfo and LRC, plain or compressed, and deletes them', async () => {
      const { session } = await memoryCard({ provider });
      const cert = selfSignedCertificate();
      await session.authenticate();
      await session.putCertificate(SLOT.AUTHENTICATION, cert);
      expect(
        Buffer.from((await session.getObject(OBJECT.AUTHENTICATION)) ?? [])
          .subarray(-5)
          .toString('hex'),
      ).toBe('710100fe00');
      expect(
        new X509Certificate(Buffer.from((await session.getCertificate(SLOT.AUTHENTICATION))!)).subject,
      ).toBe('CN=card test');
      await session.putCertificate(0x95, Uint8Array.from(gzipSync(cert)), { compressed: true });
      expect(await session.getCertificate(0x95)).toEqual(cert);
      await session.deleteCertificate(SLOT.AUTHENTICATION);
      expect(await session.getCertificate(SLOT.AUTHENTICATION)).toBeUndefined();
    });

    it('writes CHUID and CCC; the serial falls back to the CHUID GUID and then to the CPLC', async () => {
      const { session } = await memoryCard({ provider });
      await session.authenticate();
      const chuid = newChuid(new Date('2031-05-01T00:00:00Z'));
      await session.putChuid(chuid);
      await session.putCcc();
      expect(await session.getChuid()).toMatchObject(chuid);
      expect((await session.getObject(OBJECT.CAPABILITY))?.[0]).toBe(0xf0);
      const discovery = await session.getObject(OBJECT.DISCOVERY);
      expect(Buffer.from(discovery!).toString('hex')).toContain('a000000308000010000100');
      const cplc = await session.getCplc();
      expect(cplc?.length).toBe(42);
    });

    it('guards the printed-information object with the PIN', async () => {
      const { session } = await memoryCard({ provider });
      await session.authenticate();
      await session.putObject(OBJECT.PRINTED, Uint8Array.of(0x01, 0x02, 0x41, 0x42));
      await expect(session.getObject(OBJECT.PRINTED)).rejects.toBeInstanceOf(SecurityStatusNotSatisfied);
      await session.verifyPin('123456');
      expect(await session.getObject(OBJECT.PRINTED)).toEqual(Uint8Array.of(0x01, 0x02, 0x41, 0x42));
    });

    it('sets PIN/PUK retries (back to default PIN and PUK) and resets only a fully blocked card', async () => {
      const { session, card } = await memoryCard({ provider });
      await session.authenticate();
      await expect(session.setPinRetries(5, 4)).rejects.toBeInstanceOf(SecurityStatusNotSatisfied);
      await session.changePin('123456', '555555');
      await session.verifyPin('555555');
      await session.setPinRetries(5, 4);
      expect(await session.getReferenceMetadata(0x80)).toEqual({ isDefault: true, total: 5, remaining: 5 });
      expect((await session.getReferenceMetadata(0x81)).total).toBe(4);
      await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
      await expect(session.reset()).rejects.toMatchObject({ sw: 0x6985 });
      const serial = card.serial;
      for (let i = 0; i < 5; i += 1) await session.verifyPin('000000').catch(() => undefined);
      for (let i = 0; i < 4; i += 1) await session.changePuk('00000000', '00000000').catch(() => undefined);
      await session.reset();
      expect(await session.getSlotMetadata(SLOT.AUTHENTICATION)).toBeUndefined();
      expect(await session.getReferenceMetadata(0x80)).toEqual({ isDefault: true, total: 3, remaining: 3 });
      expect(card.serial).toBe(serial);
      await session.authenticate(DEFAULT_MANAGEMENT_KEY);
    });

    it('never exports a private key: no command answers with it', async () => {
      const { session, card, crypto } = await memoryCard({ provider });
      await session.authenticate();
      await session.generateKey(SLOT.AUTHENTICATION, ALGORITHM.ECC_P256);
      const stored = card.snapshot().keys['9a']!.privateKey;
      const secret = await provider.secretOf(crypto!, stored);
      if (provider.name !== 'node') {
        // The wallet's storage holds the key sealed: neither the scalar nor a PKCS#8 key is in it.
        const state = JSON.stringify(card.snapshot());
        expect(state).not.toContain(secret);
        expect(state).not.toContain(Buffer.from(secret, 'hex').toString('base64url'));
        expect(stored).toMatch(/^wjwk1:/);
      }
      const answers: string[] = [];
      for (const ins of [0xcb, 0xf7, 0x47, 0xf9, 0xfe]) {
        for (const p2 of [0x9a, 0xff]) {
          const r = await card.transmit(Uint8Array.of(0, ins, 0, p2, 0));
          answers.push(Buffer.from(r).toString('hex'));
        }
      }
      expect(answers.join()).not.toContain(secret);
    });
  },
);
