// A blank virtual card in a memory reader, opened as a PIV session: the fixture of most card tests.
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import type { CardState } from '../../src/cards/emulator/card-state.js';
import { PivSession, type PivSessionOptions } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';
import type { CardCrypto } from '../../src/cards/emulator/card-crypto.js';
import type { CardCryptoProvider } from './card-providers.js';

export async function memoryCard(
  opts: { state?: CardState; session?: PivSessionOptions; provider?: CardCryptoProvider } = {},
): Promise<{
  readers: MemoryReaderSet;
  card: VirtualPivCard;
  session: PivSession;
  crypto: CardCrypto | undefined;
}> {
  const readers = new MemoryReaderSet();
  readers.addReader('Memory Reader 0');
  const crypto = await opts.provider?.make();
  const card = new VirtualPivCard(opts.state, crypto ? { crypto } : {});
  readers.insert('Memory Reader 0', card);
  const session = await PivSession.open(await readers.connect('Memory Reader 0'), opts.session);
  return { readers, card, session, crypto };
}
