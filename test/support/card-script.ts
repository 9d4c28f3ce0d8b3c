// A card that answers from a script: for testing how the client copes with what a broken or
// hostile card might send. Not an emulator of anything real; each test writes the answers it needs.
import type { CardConnection, TransmitOptions } from '../../src/cards/transport/types.js';
import { withDeadline } from '../../src/cards/transport/deadline.js';

export type Responder = (apdu: string, index: number) => string | Promise<string> | 'hang';

export function scriptedCard(respond: Responder): CardConnection & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    reader: 'scripted',
    transmit(apdu: Uint8Array, opts?: TransmitOptions): Promise<Uint8Array> {
      const h = Buffer.from(apdu).toString('hex');
      sent.push(h);
      const answer = respond(h, sent.length - 1);
      if (answer === 'hang') return withDeadline(new Promise<Uint8Array>(() => undefined), opts);
      return withDeadline(
        Promise.resolve(answer).then((a) => Uint8Array.from(Buffer.from(a, 'hex'))),
        opts,
      );
    },
  };
}
