// Several commands in one exchange (CardConnection.transmitBatch, the agent relay's "apdus"): the
// ISO 7816 layer sends a step's commands together and reads the answers exactly as one by one —
// stopping at the first refusal, following 61xx, finishing one by one what an agent left unsent —
// and PivSession.batch / readObjectsAhead give what the single commands give.
import { describe, expect, it } from 'vitest';
import {
  ApduError,
  AuthenticationFailedError,
  InvalidPinError,
  SecurityStatusNotSatisfied,
} from '../../src/cards/errors.js';
import { SmartCardProtocol } from '../../src/cards/iso7816.js';
import { verify, type KeyObject } from 'node:crypto';
import { ALGORITHM, DEFAULT_MANAGEMENT_KEY, OBJECT, SLOT } from '../../src/cards/piv/constants.js';
import { PivBatch, PivSession } from '../../src/cards/piv/piv-session.js';
import { newCardState } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { CardConnection } from '../../src/cards/transport/types.js';
import { scriptedCard, type Responder } from '../support/card-script.js';

/** A connection that runs batches as an agent does; `cut` stops a batch early after that many. */
function batching<C extends CardConnection>(
  conn: C,
  cut = Infinity,
): C & { batches: number[]; count(): number } {
  const batches: number[] = [];
  let sent = 0;
  const transmit = conn.transmit.bind(conn);
  return Object.assign(conn, {
    batches,
    count: () => sent,
    transmit: (a: Uint8Array) => {
      sent += 1;
      return transmit(a);
    },
    async transmitBatch(apdus: readonly Uint8Array[]): Promise<Uint8Array[]> {
      batches.push(apdus.length);
      const out: Uint8Array[] = [];
      for (const a of apdus) {
        if (out.length >= cut) break;
        sent += 1;
        const r = await transmit(a);
        out.push(r);
        if (r[r.length - 2] !== 0x90 || r[r.length - 1] !== 0) break;
      }
      return out;
    },
  });
}

const PUT = (n: number) => ({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(n), le: 0 });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ISO 7816 commands in one exchange', () => {
  const card = (respond: Responder, cut?: number) => batching(scriptedCard(respond), cut);

  it('sends them together and returns each answer', async () => {
    const c = card(() => '9000');
    const rs = await new SmartCardProtocol(c).transceiveAll([PUT(1), PUT(2), PUT(3)]);
    expect(rs.map((r) => r.sw)).toEqual([0x9000, 0x9000, 0x9000]);
    expect(c.batches).toEqual([3]);
    expect(c.sent).toHaveLength(3);
  });

  it('stops at the first refusal, which is the last answer; the rest is not sent', async () => {
    const c = card((a) => (a.includes('01020000') || a.endsWith('0102') ? '6a80' : '9000'));
    const p = new SmartCardProtocol(c);
    const rs = await p.transceiveAll([PUT(1), PUT(2), PUT(3)]);
    expect(rs.map((r) => r.sw)).toEqual([0x9000, 0x6a80]);
    expect(c.sent).toHaveLength(2);
    await expect(
      new SmartCardProtocol(card((a) => (a.endsWith('0102') ? '6a80' : '9000'))).transceiveAll([
        PUT(1),
        PUT(2),
      ]),
    ).resolves.toHaveLength(2);
  });

  it('follows 61xx of a command with GET RESPONSE, then sends the rest one by one', async () => {
    const c = card((a) => {
      if (a === '00c0000002') return 'ccdd9000';
      if (a.endsWith('0101')) return 'aabb6102';
      return '9000';
    });
    const rs = await new SmartCardProtocol(c).transceiveAll([PUT(1), PUT(2)]);
    expect(rs.map((r) => hex(r.data))).toEqual(['aabbccdd', '']);
    expect(c.sent).toEqual(['00db3fff0101', '00c0000002', '00db3fff0102']);
    expect(c.batches).toEqual([2]);
  });

  it('finishes one by one what the other end left unsent', async () => {
    const c = card(() => '9000', 1);
    const rs = await new SmartCardProtocol(c).transceiveAll([PUT(1), PUT(2), PUT(3)]);
    expect(rs).toHaveLength(3);
    expect(c.sent).toEqual(['00db3fff0101', '00db3fff0102', '00db3fff0103']);
  });

  it('chains long data inside the batch; a refused piece ends it', async () => {
    const long = { ...PUT(0), data: new Uint8Array(300).fill(7) };
    const ok = card(() => '9000');
    await new SmartCardProtocol(ok).transceiveAll([long, PUT(1)]);
    expect(ok.batches).toEqual([3]);
    expect(ok.sent.map((a) => a.slice(0, 2))).toEqual(['10', '00', '00']);
    const refused = card((a) => (a.startsWith('10') ? '6700' : '9000'));
    const rs = await new SmartCardProtocol(refused).transceiveAll([long, PUT(1)]);
    expect(rs.map((r) => r.sw)).toEqual([0x6700]);
    expect(refused.sent).toHaveLength(1);
  });

  it('without a batching transport, sends one by one', async () => {
    const c = scriptedCard(() => '9000');
    expect(await new SmartCardProtocol(c).transceiveAll([PUT(1), PUT(2)])).toHaveLength(2);
    expect(c.sent).toHaveLength(2);
  });
});

describe('PIV commands in one exchange', () => {
  async function session(): Promise<{
    s: PivSession;
    conn: CardConnection & { batches: number[]; count(): number };
  }> {
    const readers = new MemoryReaderSet();
    readers.addReader('r');
    readers.insert('r', new VirtualPivCard(newCardState({ serial: 4242 })));
    const conn = batching(await readers.connect('r'));
    return { s: await PivSession.open(conn), conn };
  }

  it('a batch of PIN, retries and PUT DATA does what the single commands do', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    await s.batch((b) => b.verifyPin('123456').setPinRetries(5, 4));
    await s.batch((b) => b.changePuk('12345678', '87654321').verifyPin('123456'));
    await s.batch((b) =>
      b
        .putObject(OBJECT.PRINTED, Uint8Array.of(1, 2, 3))
        .putCcc()
        .putObject(OBJECT.KEY_HISTORY, Uint8Array.of()),
    );
    // Open's SELECT, GET VERSION and GET SERIAL, then the three batches.
    expect(conn.batches).toEqual([3, 2, 2, 3]);
    expect(hex((await s.getObject(OBJECT.PRINTED))!)).toBe('010203');
    await s.unblockPin('87654321', '654321');
    await s.verifyPin('654321');
  });

  it('a refusal in a batch throws the error of its own command, and stops there', async () => {
    const { s } = await session();
    await expect(s.batch((b) => b.verifyPin('999999').verifyPin('123456'))).rejects.toBeInstanceOf(
      InvalidPinError,
    );
    expect(await s.getPinStatus()).toEqual({ verified: false, attemptsRemaining: 2 });
    // Not authenticated with the management key: refused, as putObject would be.
    const refused = s.batch((b) => b.putCcc());
    await expect(refused).rejects.toBeInstanceOf(SecurityStatusNotSatisfied);
    await expect(refused).rejects.toBeInstanceOf(ApduError);
  });

  it('a signature with the PIN verified in the same exchange; a wrong PIN signs nothing', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    const { publicKey } = await s.generateKey(SLOT.SIGNATURE, ALGORITHM.ECC_P256);
    conn.batches.length = 0;
    const message = Buffer.from('proof of possession');
    const sig = await s.sign(SLOT.SIGNATURE, ALGORITHM.ECC_P256, message, 'sha256', { pin: '123456' });
    expect(verify('sha256', message, publicKey, sig)).toBe(true);
    expect(conn.batches).toEqual([2]);
    const sent = conn.count();
    await expect(
      s.sign(SLOT.SIGNATURE, ALGORITHM.ECC_P256, message, 'sha256', { pin: '000000' }),
    ).rejects.toBeInstanceOf(InvalidPinError);
    expect(conn.count()).toBe(sent + 1);
  });

  it('open: SELECT, GET VERSION and GET SERIAL in one exchange; getSerial sends nothing more', async () => {
    const { s, conn } = await session();
    expect(conn.batches).toEqual([3]);
    expect(s.version).toBeDefined();
    const sent = conn.count();
    expect(await s.getSerial()).toEqual({ serial: '4242', source: 'yubico' });
    expect(conn.count()).toBe(sent);
    // Asked again, the card answers again.
    expect(await s.getSerial()).toEqual({ serial: '4242', source: 'yubico' });
    expect(conn.count()).toBe(sent + 1);
  });

  it('open on a card that knows no GET VERSION: the batch stops there, GET SERIAL goes alone', async () => {
    const c = batching(
      scriptedCard((a) => {
        if (a.startsWith('00a40400')) return '9000';
        return '6d00';
      }),
    );
    const s = await PivSession.open(c);
    expect(s.version).toBeUndefined();
    expect(c.batches).toEqual([3]);
    expect(c.sent).toHaveLength(2);
    await expect(s.getSerial()).rejects.toBeInstanceOf(ApduError);
    expect(c.sent.map((a) => a.slice(0, 8))).toContain('00f80000');
  });

  it('a new management key set and proven: SET MANAGEMENT KEY goes with the first GENERAL AUTHENTICATE', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    conn.batches.length = 0;
    const sent = conn.count();
    const key = Uint8Array.from(Buffer.alloc(24, 7));
    await s.setManagementKey(key, 0x03, { authenticate: true });
    // The second GENERAL AUTHENTICATE needs the first's answer: it goes alone.
    expect(conn.batches).toEqual([2]);
    expect(conn.count()).toBe(sent + 3);
    await s.authenticate(key, 0x03);
    // A refused SET MANAGEMENT KEY throws its own error and authenticates nothing.
    const fresh = await session();
    await expect(fresh.s.setManagementKey(key, 0x03, { authenticate: true })).rejects.toBeInstanceOf(
      SecurityStatusNotSatisfied,
    );
    expect(fresh.conn.batches.at(-1)).toBe(2);
    await expect(fresh.s.authenticate(key, 0x03)).rejects.toBeInstanceOf(AuthenticationFailedError);
  });

  it('keys generated and each signing a challenge, in one exchange; each callback gets its answer', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    conn.batches.length = 0;
    const keys: Record<number, KeyObject> = {};
    const sigs: Record<number, Uint8Array> = {};
    const message = Buffer.from('proof of possession');
    await s.batch((b) => {
      for (const slot of [SLOT.AUTHENTICATION, SLOT.SIGNATURE])
        b.generateKey(slot, ALGORITHM.ECC_P256, {}, ({ publicKey }) => (keys[slot] = publicKey));
      for (const slot of [SLOT.AUTHENTICATION, SLOT.SIGNATURE])
        b.sign(slot, ALGORITHM.ECC_P256, message, 'sha256', { pin: '123456' }, (sig) => (sigs[slot] = sig));
    });
    expect(conn.batches).toEqual([6]);
    for (const slot of [SLOT.AUTHENTICATION, SLOT.SIGNATURE])
      expect(verify('sha256', message, keys[slot]!, sigs[slot]!)).toBe(true);
    // A wrong PIN: the batch stops there, nothing after it is signed, no callback runs.
    let called = false;
    await expect(
      s.batch((b) =>
        b.sign(
          SLOT.SIGNATURE,
          ALGORITHM.ECC_P256,
          message,
          'sha256',
          { pin: '000000' },
          () => (called = true),
        ),
      ),
    ).rejects.toBeInstanceOf(InvalidPinError);
    expect(called).toBe(false);
  });

  it('writes then reads in one exchange: a refused read fails nothing; reads go last', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    conn.batches.length = 0;
    await s.batch((b) =>
      b
        .putObject(OBJECT.KEY_HISTORY, Uint8Array.of(1, 2, 3))
        .putCcc()
        .readObjects([OBJECT.KEY_HISTORY, OBJECT.CAPABILITY, OBJECT.CHUID, OBJECT.DISCOVERY]),
    );
    // The card lacks a CHUID: the exchange stops there; the Discovery object is read when asked.
    expect(conn.batches).toEqual([6]);
    const sent = conn.count();
    expect(hex((await s.getObject(OBJECT.KEY_HISTORY))!)).toBe('010203');
    expect(await s.getObject(OBJECT.CAPABILITY)).toBeDefined();
    expect(await s.getObject(OBJECT.CHUID)).toBeUndefined();
    expect(conn.count()).toBe(sent);
    await s.getObject(OBJECT.DISCOVERY);
    expect(conn.count()).toBe(sent + 1);
    expect(() => new PivBatch().readObjects([OBJECT.CHUID]).putCcc()).toThrow(RangeError);
    // A refused write ends the batch with its error; its reads are not sent.
    const fresh = await session();
    await expect(
      fresh.s.batch((b) => b.putCcc().readObjects([OBJECT.CAPABILITY, OBJECT.DISCOVERY])),
    ).rejects.toBeInstanceOf(SecurityStatusNotSatisfied);
    expect(fresh.conn.batches.at(-1)).toBe(3);
    expect(fresh.conn.count()).toBe(3 + 1);
  });

  it('without a batching transport, a batch sends its commands one by one and leaves reads to getObject', async () => {
    const readers = new MemoryReaderSet();
    readers.addReader('r');
    readers.insert('r', new VirtualPivCard(newCardState({ serial: 4243 })));
    const s = await PivSession.open(await readers.connect('r'));
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    const before = s.apduCount;
    await s.batch((b) => b.putCcc().readObjects([OBJECT.CAPABILITY, OBJECT.DISCOVERY]));
    expect(s.apduCount - before).toBe(1);
    expect(await s.getObject(OBJECT.CAPABILITY)).toBeDefined();
  });

  it('objects read ahead in one exchange are what getObject reads; a write forgets them', async () => {
    const { s, conn } = await session();
    await s.authenticate(DEFAULT_MANAGEMENT_KEY, 0x03);
    await s.putObject(OBJECT.KEY_HISTORY, Uint8Array.of(9));
    await s.putCcc();
    const ccc = await s.getObject(OBJECT.CAPABILITY);
    conn.batches.length = 0;
    // The batch stops at the first object the card lacks (no CHUID was written).
    await s.readObjectsAhead([OBJECT.KEY_HISTORY, OBJECT.CAPABILITY, OBJECT.CHUID, OBJECT.DISCOVERY]);
    expect(conn.batches).toEqual([4]);
    const sent = conn.count();
    expect(hex((await s.getObject(OBJECT.KEY_HISTORY))!)).toBe('09');
    expect(await s.getObject(OBJECT.CAPABILITY)).toEqual(ccc);
    expect(conn.count()).toBe(sent);
    // The card's refusal was read ahead too: it is getObject's answer.
    expect(await s.getObject(OBJECT.CHUID)).toBeUndefined();
    expect(conn.count()).toBe(sent);
    await s.readObjectsAhead([OBJECT.KEY_HISTORY, OBJECT.CAPABILITY]);
    await s.putObject(OBJECT.KEY_HISTORY, Uint8Array.of(8));
    expect(hex((await s.getObject(OBJECT.KEY_HISTORY))!)).toBe('08');
  });
});
