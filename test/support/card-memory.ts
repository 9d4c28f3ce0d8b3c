// A blank virtual card in a memory reader, opened as a PIV session: the fixture of most card tests.
// The card is the emulator's (Node crypto), the wallet's provider (WebCrypto in Node), or the
// browser build of the card application running in Chromium (test/support/browser-card.ts).
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import type { CardState } from '../../src/cards/emulator/card-state.js';
import { PivSession, type PivSessionOptions } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { CardCrypto } from '../../src/cards/emulator/card-crypto.js';
import { cardCryptos, type CardCryptoProvider } from './card-providers.js';
import { chromiumCards, type BrowserCard } from './browser-card.js';

export type CardProvider = CardCryptoProvider | typeof chromiumCards;

/**
 * The card application in each runtime: Node crypto, WebCrypto in Node, and its browser build in
 * Chromium (when Chromium is installed): one codebase, the same behaviour.
 */
export const cardApplications: CardProvider[] = chromiumCards.available
  ? [...cardCryptos, chromiumCards]
  : cardCryptos;

/** What the tests use of a card: the emulator's VirtualPivCard, or the Chromium card's wire. */
export type TestCard = Pick<VirtualPivCard, 'serial' | 'snapshot' | 'transmit' | 'atr' | 'reset'>;

export async function memoryCard(
  opts: { state?: CardState; session?: PivSessionOptions; provider?: CardProvider } = {},
): Promise<{
  readers: MemoryReaderSet;
  card: TestCard;
  session: PivSession;
  crypto: CardCrypto | undefined;
}> {
  const readers = new MemoryReaderSet();
  readers.addReader('Memory Reader 0');
  const p = opts.provider;
  let card: TestCard;
  let crypto: CardCrypto | undefined;
  if (p && 'card' in p) {
    const b: BrowserCard = await p.card(opts.state);
    readers.insert('Memory Reader 0', b.asCard());
    card = b;
    crypto = b as unknown as CardCrypto; // the handle secretOf takes
  } else {
    crypto = await p?.make();
    const v = new VirtualPivCard(opts.state, crypto ? { crypto } : {});
    readers.insert('Memory Reader 0', v);
    card = v;
  }
  const session = await PivSession.open(await readers.connect('Memory Reader 0'), opts.session);
  return { readers, card, session, crypto };
}
