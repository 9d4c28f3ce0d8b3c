// A blank virtual card in a memory reader, opened as a PIV session: the fixture of most card tests.
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import type { CardState } from '../../src/cards/emulator/card-state.js';
import { PivSession, type PivSessionOptions } from '../../src/cards/piv/piv-session.js';
import { MemoryReaderSet } from '../../src/cards/transport/memory.js';

export async function memoryCard(
  opts: { state?: CardState; session?: PivSessionOptions } = {},
): Promise<{ readers: MemoryReaderSet; card: VirtualPivCard; session: PivSession }> {
  const readers = new MemoryReaderSet();
  readers.addReader('Memory Reader 0');
  const card = new VirtualPivCard(opts.state);
  readers.insert('Memory Reader 0', card);
  const session = await PivSession.open(await readers.connect('Memory Reader 0'), opts.session);
  return { readers, card, session };
}
