// The card relay between servers (services/cluster/card-relay.ts) on a bus that delivers every
// message to the other server, as NOTIFY does: a card reached through the holder answers as it
// would locally; messages are sealed (nothing of the APDU is readable on the bus); a message sent
// again (someone able to NOTIFY replays one) does not reach the card a second time; a relay with
// another master key hears nothing; a batch of commands goes as one message each way (and an
// older holder, which does not offer batches, gets them one by one); a print job relayed to the holder reports its progress and end,
// its document unreadable on the wire, and a replayed print request prints nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SmartCardProtocol } from '../../src/cards/iso7816.js';
import type { CardConnection } from '../../src/cards/transport/types.js';
import type { Bus, BusListener, Topic } from '../../src/services/cluster/bus.js';
import { BusCardRelay } from '../../src/services/cluster/card-relay.js';

/** Two servers' buses on one wire: each hears the other's messages (not its own), and the wire keeps them. */
function wire() {
  const heard: { from: string; topic: Topic; payload: string }[] = [];
  const subs: { who: string; topic: Topic; l: BusListener }[] = [];
  const deliver = (from: string, topic: Topic, payload: string) => {
    for (const s of subs) if (s.topic === topic && s.who !== from) s.l(payload, false);
  };
  const bus = (who: string): Bus => ({
    publish: (topic, payload) => {
      heard.push({ from: who, topic, payload });
      queueMicrotask(() => deliver(who, topic, payload));
    },
    subscribe: (topic, l) => {
      const s = { who, topic, l };
      subs.push(s);
      return () => void subs.splice(subs.indexOf(s), 1);
    },
    onResync: () => () => undefined,
    close: async () => undefined,
  });
  return { heard, bus, deliver };
}

/** A card that answers 90 00 with the APDU's first byte, counting what reaches it. */
function card() {
  const got: string[] = [];
  const conn: CardConnection = {
    reader: 'R',
    atr: Uint8Array.from([0x3b, 0x00]),
    transmit: async (apdu) => {
      got.push(Buffer.from(apdu).toString('hex'));
      return Uint8Array.from([apdu[0]!, 0x90, 0x00]);
    },
    close: async () => undefined,
  };
  return { got, local: { connect: async () => conn } };
}

describe('card relay between servers', () => {
  it('relays, seals, and refuses a replayed command', async () => {
    const w = wire();
    const key = randomBytes(32);
    const c = card();
    const holder = new BusCardRelay({ bus: w.bus('A'), instanceId: 'A', key, local: c.local });
    const caller = new BusCardRelay({ bus: w.bus('B'), instanceId: 'B', key, local: card().local });
    const conn = await caller.connect('A', 'owner', 'agent', 'R');
    expect(await conn.transmit(Uint8Array.from([0x00, 0xa4, 0x04, 0x00]))).toEqual(
      Uint8Array.from([0x00, 0x90, 0x00]),
    );
    expect(await conn.transmit(Uint8Array.from([0x00, 0x20, 0x00, 0x80]))).toEqual(
      Uint8Array.from([0x00, 0x90, 0x00]),
    );
    expect(c.got).toEqual(['00a40400', '00200080']);
    // Nothing of the commands is readable on the wire.
    for (const m of w.heard) expect(m.payload).not.toMatch(/00200080|00a40400|"apdu"/);
    // The VERIFY sent again, exactly as it was on the wire: it does not reach the card.
    const verify = w.heard.filter((m) => m.from === 'B')[2]!;
    w.deliver('B', verify.topic, verify.payload);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.got).toEqual(['00a40400', '00200080']);
    await conn.close?.();
    holder.close();
    caller.close();
  });

  it('a batch goes in one message each way, stops at the first refusal, and is not taken twice', async () => {
    const w = wire();
    const key = randomBytes(32);
    const got: string[] = [];
    const local = {
      connect: async (): Promise<CardConnection> => ({
        reader: 'R',
        transmit: async (apdu) => {
          got.push(Buffer.from(apdu).toString('hex'));
          // PUT DATA of 02 is refused.
          return apdu[5] === 2 ? Uint8Array.of(0x6a, 0x80) : Uint8Array.of(0x90, 0x00);
        },
      }),
    };
    const holder = new BusCardRelay({ bus: w.bus('A'), instanceId: 'A', key, local });
    const caller = new BusCardRelay({ bus: w.bus('B'), instanceId: 'B', key, local: card().local });
    const conn = await caller.connect('A', 'owner', 'agent', 'R');
    expect(conn.transmitBatch).toBeDefined();
    const put = (n: number) => Uint8Array.of(0x00, 0xdb, 0x3f, 0xff, 1, n);
    const before = w.heard.length;
    const answers = await conn.transmitBatch!([put(1), put(2), put(3)]);
    expect(answers.map((a) => Buffer.from(a).toString('hex'))).toEqual(['9000', '6a80']);
    expect(got).toEqual(['00db3fff0101', '00db3fff0102']);
    expect(w.heard.length - before).toBe(2);
    for (const m of w.heard) expect(m.payload).not.toMatch(/00db3fff/);
    // The batch sent again, exactly as it was on the wire: it does not reach the card.
    const batch = w.heard.filter((m) => m.from === 'B').at(-1)!;
    w.deliver('B', batch.topic, batch.payload);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toHaveLength(2);
    await conn.close?.();
    holder.close();
    caller.close();
  });

  it('a holder that does not say batch on connect (an older server) gets commands one by one', async () => {
    const w = wire();
    const key = randomBytes(32);
    // The older server: the same sealed messages, a connect answer without `batch`.
    const seal = (m: object) => {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(JSON.stringify(m), 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    };
    const open = (payload: string) => {
      const b = Buffer.from(payload, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12));
      d.setAuthTag(b.subarray(12, 28));
      return JSON.parse(Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8')) as {
        from: string;
        id: string;
        k: string;
      };
    };
    const kinds: string[] = [];
    const olderBus = w.bus('A');
    olderBus.subscribe('card', (payload) => {
      const m = open(payload);
      kinds.push(m.k);
      const data =
        m.k === 'connect' ? JSON.stringify({ cid: 'c1', atr: null }) : m.k === 'apdu' ? '9000' : '';
      olderBus.publish('card', seal({ to: m.from, from: 'A', id: m.id, k: 'reply', data }));
    });
    const caller = new BusCardRelay({ bus: w.bus('B'), instanceId: 'B', key, local: card().local });
    const conn = await caller.connect('A', 'owner', 'agent', 'R');
    expect(conn.transmitBatch).toBeUndefined();
    const rs = await new SmartCardProtocol(conn).transceiveAll([
      { cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(1), le: 0 },
      { cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(2), le: 0 },
    ]);
    expect(rs).toHaveLength(2);
    expect(kinds).toEqual(['connect', 'apdu', 'apdu']);
    caller.close();
  });

  it('a server with another master key is not heard', async () => {
    const w = wire();
    const c = card();
    const holder = new BusCardRelay({
      bus: w.bus('A'),
      instanceId: 'A',
      key: randomBytes(32),
      local: c.local,
    });
    const caller = new BusCardRelay({
      bus: w.bus('B'),
      instanceId: 'B',
      key: randomBytes(32),
      local: card().local,
    });
    await expect(caller.connect('A', 'owner', 'agent', 'R', { timeoutMs: 10 })).rejects.toThrow(
      /did not answer/,
    );
    expect(c.got).toEqual([]);
    holder.close();
    caller.close();
  });

  it('relays a print job to the holder: progress and end come back; a replay prints nothing', async () => {
    const w = wire();
    const key = randomBytes(32);
    const printed: { owner: string; agentId: string; printer: string; pdf: string; jobName: string }[] = [];
    const local = {
      ...card().local,
      print: async (
        owner: string,
        agentId: string,
        printer: string,
        pdf: Buffer,
        o: { jobName: string; onProgress?: (p: { jobId: number; state: string; reasons: string[] }) => void },
      ) => {
        printed.push({ owner, agentId, printer, pdf: pdf.toString('latin1'), jobName: o.jobName });
        o.onProgress?.({ jobId: 7, state: 'processing', reasons: [] });
        return { jobId: 7, state: 'completed' as const, reasons: [], message: 'done' };
      },
    };
    const holder = new BusCardRelay({ bus: w.bus('A'), instanceId: 'A', key, local });
    const caller = new BusCardRelay({ bus: w.bus('B'), instanceId: 'B', key, local: card().local });
    const progress: string[] = [];
    const outcome = await caller.print('A', 'owner', 'agent', 'Eve', Buffer.from('%PDF-secret card'), {
      jobName: 'Sample',
      user: 'Admin',
      timeoutMs: 1000,
      onProgress: (p) => progress.push(`${p.jobId} ${p.state}`),
    });
    expect(outcome).toMatchObject({ jobId: 7, state: 'completed' });
    expect(progress).toEqual(['7 processing']);
    expect(printed).toEqual([
      { owner: 'owner', agentId: 'agent', printer: 'Eve', pdf: '%PDF-secret card', jobName: 'Sample' },
    ]);
    const sent = Buffer.from('%PDF-secret card').toString('base64');
    for (const m of w.heard) expect(m.payload).not.toContain(sent);
    // The ticket and the print request sent again, in order, as they were on the wire: nothing prints.
    for (const m of w.heard.filter((x) => x.from === 'B')) w.deliver('B', m.topic, m.payload);
    await new Promise((r) => setTimeout(r, 20));
    expect(printed).toHaveLength(1);
    holder.close();
    caller.close();
  });
});
