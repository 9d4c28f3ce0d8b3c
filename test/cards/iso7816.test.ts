import { describe, expect, it } from 'vitest';
import { ApduError, CardProtocolError, CardTimeoutError } from '../../src/cards/errors.js';
import { SmartCardProtocol } from '../../src/cards/iso7816.js';
import { scriptedCard } from '../support/card-script.js';

const GET_DATA = { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: Uint8Array.of(0x5c, 1, 0x7e), le: 256 };

describe('ISO 7816-4 protocol', () => {
  it('follows 61xx with GET RESPONSE and joins the parts', async () => {
    const card = scriptedCard((apdu) => {
      if (apdu.startsWith('00cb')) return 'aabb6103';
      if (apdu === '00c0000003') return 'ccddee6102';
      if (apdu === '00c0000002') return 'ff019000';
      return '6d00';
    });
    const p = new SmartCardProtocol(card);
    expect(Buffer.from(await p.send(GET_DATA)).toString('hex')).toBe('aabbccddeeff01');
    expect(card.sent).toEqual(['00cb3fff035c017e00', '00c0000003', '00c0000002']);
  });

  it('asks 61 00 as 256 bytes', async () => {
    const card = scriptedCard((apdu) => (apdu.startsWith('00cb') ? '016100' : '029000'));
    await new SmartCardProtocol(card).send(GET_DATA);
    expect(card.sent[1]).toBe('00c0000000');
  });

  it('retries once with the Le the card names in 6Cxx', async () => {
    const card = scriptedCard((apdu) =>
      apdu.endsWith('00') && apdu.length === 18 ? '6c05' : '01020304059000',
    );
    const p = new SmartCardProtocol(card);
    expect((await p.send(GET_DATA)).length).toBe(5);
    expect(card.sent[1]).toBe('00cb3fff035c017e05');
  });

  it('gives up with a protocol error when the card keeps asking for another Le', async () => {
    const card = scriptedCard(() => '6c05');
    await expect(new SmartCardProtocol(card).send(GET_DATA)).rejects.toBeInstanceOf(CardProtocolError);
  });

  it('stops an endless 61xx chain', async () => {
    const card = scriptedCard(() => '006110');
    const p = new SmartCardProtocol(card, { maxResponseRounds: 50 });
    await expect(p.send(GET_DATA)).rejects.toThrow(/kept answering 61xx/);
    expect(card.sent.length).toBe(51);
  });

  it('stops a chain whose parts exceed the response limit', async () => {
    const big = 'aa'.repeat(256);
    const card = scriptedCard(() => big + '6100');
    const p = new SmartCardProtocol(card, { maxResponseBytes: 4096 });
    await expect(p.send(GET_DATA)).rejects.toThrow(/exceeds 4096 bytes/);
  });

  it('rejects a 61xx with no data in an endless loop at once', async () => {
    const card = scriptedCard((apdu) => (apdu.startsWith('00cb') ? '6110' : '6110'));
    await expect(new SmartCardProtocol(card).send(GET_DATA)).rejects.toThrow(/no data/);
  });

  it.each([[''], ['90']])('rejects a truncated response %j', async (answer) => {
    const card = scriptedCard(() => answer);
    await expect(new SmartCardProtocol(card).send(GET_DATA)).rejects.toBeInstanceOf(CardProtocolError);
  });

  it('turns a non-9000 status into ApduError with the status word', async () => {
    const card = scriptedCard(() => '6a82');
    await expect(new SmartCardProtocol(card).send(GET_DATA)).rejects.toMatchObject({ sw: 0x6a82 });
    await expect(new SmartCardProtocol(card).send(GET_DATA)).rejects.toBeInstanceOf(ApduError);
  });

  it('chains long command data in 255-byte pieces with CLA 10', async () => {
    const card = scriptedCard(() => '9000');
    const data = new Uint8Array(600).fill(1);
    await new SmartCardProtocol(card).send({ cla: 0, ins: 0xdb, p1: 0x3f, p2: 0xff, data });
    expect(card.sent.map((s) => s.slice(0, 10))).toEqual(['10db3fffff', '10db3fffff', '00db3fff5a']);
  });

  it('stops chaining when the card refuses a piece', async () => {
    const card = scriptedCard(() => '6a80');
    const r = await new SmartCardProtocol(card).transceive({
      cla: 0,
      ins: 0xdb,
      p1: 0x3f,
      p2: 0xff,
      data: new Uint8Array(600),
    });
    expect(r.sw).toBe(0x6a80);
    expect(card.sent.length).toBe(1);
  });

  it('sends one extended APDU instead of chaining when asked to', async () => {
    const card = scriptedCard(() => '9000');
    await new SmartCardProtocol(card, { extended: true }).send({
      cla: 0,
      ins: 0xdb,
      p1: 0x3f,
      p2: 0xff,
      data: new Uint8Array(600),
    });
    expect(card.sent.length).toBe(1);
    expect(card.sent[0]!.slice(0, 14)).toBe('00db3fff000258');
  });

  it('times out a card that never answers', async () => {
    const card = scriptedCard(() => 'hang');
    const p = new SmartCardProtocol(card, { timeoutMs: 50 });
    await expect(p.send(GET_DATA)).rejects.toBeInstanceOf(CardTimeoutError);
  });

  it('aborts an exchange on signal', async () => {
    const card = scriptedCard(() => 'hang');
    const ac = new AbortController();
    const p = new SmartCardProtocol(card, { signal: ac.signal });
    const pending = p.send(GET_DATA);
    ac.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });
});
