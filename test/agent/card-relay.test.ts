// CardRelay on its own, the channel being a function the test answers by hand: replies are routed
// by id, late replies are ignored, the agent's error codes become the card layer's typed errors,
// and closing the channel fails everything in flight and everything after.
import { describe, expect, it } from 'vitest';
import { CardRemovedError, CardTimeoutError, TransportError } from '../../src/cards/errors.js';
import { CardRelay, type RelayRequest } from '../../src/cards/transport/relay.js';

function relay() {
  const sent: RelayRequest[] = [];
  const r = new CardRelay((m) => void sent.push(m), { peer: 'Desk' });
  const last = () => sent.at(-1)!;
  return { r, sent, last };
}

async function opened() {
  const t = relay();
  const p = t.r.connect('R');
  const req = t.last() as Extract<RelayRequest, { type: 'connect' }>;
  expect(req).toEqual({ type: 'connect', id: req.id, reader: 'R' });
  t.r.deliver({ type: 'connect-result', id: req.id, session: 's1', atr: '3b8f' });
  return { ...t, conn: await p };
}

describe('CardRelay', () => {
  it('routes replies by id, whatever their order', async () => {
    const { r, sent, conn } = await opened();
    expect(Buffer.from(conn.atr!).toString('hex')).toBe('3b8f');
    const a = conn.transmit(Uint8Array.from([1]));
    const b = conn.transmit(Uint8Array.from([2]));
    const [ra, rb] = sent.slice(-2) as Extract<RelayRequest, { type: 'apdu' }>[];
    expect([ra!.apdu, rb!.apdu, ra!.session, ra!.timeoutMs]).toEqual(['01', '02', 's1', 30_000]);
    expect(r.deliver({ type: 'apdu-result', id: rb!.id, response: '9000' })).toBe(true);
    expect(r.deliver({ type: 'apdu-result', id: ra!.id, response: '6a82' })).toBe(true);
    expect(Buffer.from(await a).toString('hex')).toBe('6a82');
    expect(Buffer.from(await b).toString('hex')).toBe('9000');
    expect(r.deliver({ type: 'apdu-result', id: ra!.id, response: '9000' })).toBe(false);
    expect(r.inFlight).toBe(0);
  });

  it.each([
    ['card_removed', CardRemovedError],
    ['card_timeout', CardTimeoutError],
    ['card_transport', TransportError],
    ['agent_error', TransportError],
  ] as const)('maps the agent error %s to %s', async (code, type) => {
    const { r, last, conn } = await opened();
    const p = conn.transmit(Uint8Array.from([1]));
    r.deliver({ type: 'apdu-error', id: (last() as { id: string }).id, code, message: 'within 500 ms' });
    await expect(p).rejects.toBeInstanceOf(type);
  });

  it('times out a silent agent and forgets the request', async () => {
    const { r, conn } = await opened();
    await expect(conn.transmit(Uint8Array.from([1]), { timeoutMs: 10 })).rejects.toBeInstanceOf(
      CardTimeoutError,
    );
    expect(r.inFlight).toBe(0);
  });

  it('honours an abort signal', async () => {
    const { conn } = await opened();
    const ac = new AbortController();
    const p = conn.transmit(Uint8Array.from([1]), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toThrow(/aborted/);
  });

  it('fails the removed reader only, and its old connections stay stale', async () => {
    const { r, conn } = await opened();
    const p = conn.transmit(Uint8Array.from([1]));
    r.cardRemoved('Other');
    expect(r.inFlight).toBe(1);
    r.cardRemoved('R');
    await expect(p).rejects.toBeInstanceOf(CardRemovedError);
    await expect(conn.transmit(Uint8Array.from([1]))).rejects.toBeInstanceOf(CardRemovedError);
  });

  it('fails everything with "agent disconnected" when the channel closes, and refuses new work', async () => {
    const { r, sent, conn } = await opened();
    const p = conn.transmit(Uint8Array.from([1]));
    const c = r.connect('R2');
    r.close();
    await expect(p).rejects.toThrow(/agent disconnected \(Desk\)/);
    await expect(c).rejects.toBeInstanceOf(TransportError);
    await expect(conn.transmit(Uint8Array.from([1]))).rejects.toThrow(/agent disconnected/);
    const n = sent.length;
    await conn.close?.();
    expect(sent.length).toBe(n);
  });

  it('sends disconnect once when a connection is closed', async () => {
    const { sent, conn } = await opened();
    await conn.close?.();
    await conn.close?.();
    expect(sent.filter((m) => m.type === 'disconnect')).toEqual([
      { type: 'disconnect', session: 's1', reader: 'R' },
    ]);
    await expect(conn.transmit(Uint8Array.from([1]))).rejects.toThrow(/closed/);
  });

  it('reports a channel that cannot send as a TransportError', async () => {
    const r = new CardRelay(() => {
      throw new Error('socket closed');
    });
    await expect(r.connect('R')).rejects.toThrow(/Could not reach the agent: socket closed/);
    expect(r.inFlight).toBe(0);
  });
});
