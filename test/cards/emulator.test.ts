import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileCardStorage } from '../../src/cards/emulator/file-storage.js';
import type { CardState, CardStorage } from '../../src/cards/emulator/card-state.js';
import { closeBrowserCards } from '../support/browser-card.js';
import { cardApplications } from '../support/card-memory.js';
import { VIRTUAL_CARD_ATR, VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import type { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { CardRemovedError } from '../../src/cards/errors.js';
import { ALGORITHM, SLOT } from '../../src/cards/piv/constants.js';
import { PivSession } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { ReaderEvent } from '../../src/cards/transport/types.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function send(card: PivCardApplication, apdu: string): Promise<string> {
  return hex(await card.transmit(bytes(apdu)));
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(closeBrowserCards);

describe.each(cardApplications)(
  'virtual PIV card: status words as a YubiKey 5 answers ($name)',
  (provider) => {
    // 'chromium': the browser build of the card application, answering in a Chromium page.
    const newCard = async (state?: CardState, storage?: CardStorage) =>
      'card' in provider
        ? (await provider.card(state)).asCard()
        : new VirtualPivCard(state, { crypto: await provider.make(), ...(storage ? { storage } : {}) });

    it.each([
      [
        'SELECT by RID answers the application property template',
        '00a4040005a00000030800',
        '61114f0600001000010079074f05a0000003089000',
      ],
      ['SELECT of another application', '00a4040007a0000005272101', '6a82'],
      ['GET VERSION', '00fd000000', '0504039000'],
      ['GET DATA of an absent object', '00cb3fff055c035fc10500', '6a82'],
      ['GET DATA with a bad tag list', '00cb3fff035d017e00', '6a80'],
      ['GET DATA with wrong P1P2', '00cb0000035c017e00', '6a86'],
      ['PUT DATA without management key', '00db3fff095c035fc1025302aabb', '6982'],
      ['empty VERIFY on a new card', '0020008000', '63c3'],
      ['VERIFY with a short PIN block', '00200080023132', '6a80'],
      ['VERIFY of an unknown reference', '0020008108313233343536ffff', '6a88'],
      ['GENERATE without management key', '0047009a05ac0380011100', '6982'],
      ['GENERAL AUTHENTICATE with an empty slot', '0087119a087c0682008102aabb00', '6a80'],
      ['RESET while PIN and PUK work', '00fb000000', '6985'],
      ['unknown instruction', '00ee000000', '6d00'],
      ['unknown class', '84fd000000', '6e00'],
      ['malformed APDU', '00a404', '6700'],
      ['GET RESPONSE with nothing pending', '00c0000000', '6985'],
      ['CPLC through GlobalPlatform GET DATA', '80ca9f7f00', ''],
    ])('%s', async (_name, apdu, expected) => {
      const card = await newCard();
      const answer = await send(card, apdu);
      if (expected) expect(answer).toBe(expected);
      else expect(answer).toMatch(/^9f7f2a[0-9a-f]{84}9000$/);
    });

    it('wrong PIN: 63C2, 63C1, 63C0, then 6983 (blocked)', async () => {
      const card = await newCard();
      const wrong = '0020008008393939393939ffff';
      expect([
        await send(card, wrong),
        await send(card, wrong),
        await send(card, wrong),
        await send(card, wrong),
      ]).toEqual(['63c2', '63c1', '63c0', '6983']);
      expect(await send(card, '0020008008313233343536ffff')).toBe('6983');
    });

    it('PIN verification is lost at reset (power cycle)', async () => {
      const card = await newCard();
      expect(await send(card, '0020008008313233343536ffff')).toBe('9000');
      expect(await send(card, '0020008000')).toBe('9000');
      card.reset();
      expect(await send(card, '0020008000')).toBe('63c3');
    });

    it('answers long data in 256-byte short chunks with 61xx and GET RESPONSE', async () => {
      const readers = new MemoryReaderSet();
      readers.addReader('r');
      const card = await newCard();
      readers.insert('r', card);
      const s = await PivSession.open(await readers.connect('r'), { extendedApdus: false });
      await s.authenticate();
      const before = s.apduCount;
      await s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.RSA_2048);
      expect(s.apduCount - before).toBe(2); // 264-byte answer: GENERATE + one GET RESPONSE
      expect(card.snapshot().keys['9a']?.algorithm).toBe(ALGORITHM.RSA_2048);
    });

    it('accepts command chaining and rejects a chain broken by another command', async () => {
      const card = await newCard();
      expect(await send(card, '10cb3fff025c03')).toBe('9000');
      expect(await send(card, '00cb3fff035fc1050000'.slice(0, 16))).toBe('6a82');
      expect(await send(card, '10cb3fff025c03')).toBe('9000');
      expect(await send(card, '00fd000000')).toBe('6883');
    });

    // The file store is the emulator's (the wallet's IndexedDB store: test/e2e/wallet.test.ts).
    it.skipIf('card' in provider)(
      'persists every change to its file and comes back the same after a restart',
      async () => {
        if ('card' in provider) return;
        const dir = mkdtempSync(join(tmpdir(), 'tessera-card-'));
        dirs.push(dir);
        const file = join(dir, 'card.json');
        const storage = new FileCardStorage(file);
        const first = storage.loadOrCreate({ serial: 12345678 });
        expect(first.created).toBe(true);
        // One provider for both lives of the card: the wallet keeps its storage key beside its state.
        const crypto = await provider.make();
        const card = new VirtualPivCard(first.state, { storage, crypto });
        const readers = new MemoryReaderSet();
        readers.addReader('r');
        readers.insert('r', card);
        const s = await PivSession.open(await readers.connect('r'));
        await s.changePin('123456', '654321');
        await s.verifyPin('111111').catch(() => undefined);
        await s.authenticate();
        const { spki } = await s.generateKey(SLOT.SIGNATURE, ALGORITHM.ECC_P256);
        expect(JSON.parse(readFileSync(file, 'utf8')).serial).toBe(12345678);

        const again = new FileCardStorage(file).loadOrCreate();
        expect(again.created).toBe(false);
        const card2 = new VirtualPivCard(again.state, { storage, crypto });
        const readers2 = new MemoryReaderSet();
        readers2.addReader('r');
        readers2.insert('r', card2);
        const s2 = await PivSession.open(await readers2.connect('r'));
        expect(await s2.getPinStatus()).toEqual({ verified: false, attemptsRemaining: 2 });
        await s2.verifyPin('654321');
        expect(
          Buffer.from(
            (await s2.getSlotMetadata(SLOT.SIGNATURE))!.publicKey.export({ format: 'der', type: 'spki' }),
          ),
        ).toEqual(Buffer.from(spki));
        expect((await s2.getSerial()).serial).toBe('12345678');
      },
    );

    it('has the ATR of a YubiKey 5 with a correct check byte', () => {
      let x = 0;
      for (const b of VIRTUAL_CARD_ATR.subarray(1)) x ^= b;
      expect(x).toBe(0);
      expect(Buffer.from(VIRTUAL_CARD_ATR).toString('latin1')).toContain('YubiKey');
    });
  },
);

describe('memory readers', () => {
  it('lists readers, reports insert and removal, and fails exchanges after removal', async () => {
    const readers = new MemoryReaderSet();
    const events: ReaderEvent['type'][] = [];
    readers.watch((e) => events.push(e.type));
    readers.addReader('A');
    readers.addReader('B');
    const card = new VirtualPivCard();
    readers.insert('A', card);
    expect((await readers.list()).map((r) => [r.name, r.cardPresent])).toEqual([
      ['A', true],
      ['B', false],
    ]);
    const conn = await readers.connect('A');
    const s = await PivSession.open(conn);
    readers.remove('A');
    await expect(s.getVersion()).rejects.toBeInstanceOf(CardRemovedError);
    readers.insert('B', card);
    await expect(conn.transmit(bytes('00fd000000'))).rejects.toBeInstanceOf(CardRemovedError);
    await expect(readers.connect('A')).rejects.toBeInstanceOf(CardRemovedError);
    expect(events).toEqual([
      'reader-added',
      'reader-added',
      'card-inserted',
      'card-removed',
      'card-inserted',
    ]);
  });

  it('fails an exchange in flight when the card is pulled', async () => {
    const readers = new MemoryReaderSet();
    readers.addReader('A');
    readers.insert('A', new VirtualPivCard());
    const s = await PivSession.open(await readers.connect('A'));
    await s.authenticate();
    const pending = s.generateKey(SLOT.AUTHENTICATION, ALGORITHM.RSA_2048);
    readers.remove('A');
    await expect(pending).rejects.toBeInstanceOf(CardRemovedError);
  });
});
