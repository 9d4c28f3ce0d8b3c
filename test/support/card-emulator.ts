// A virtual PIV card inserted into pcscd's vsmartcard reader for a test, with every APDU recorded
// so a test can tell what a tool actually sent.
import { FileCardStorage } from '../../src/cards/emulator/file-storage.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
import { PcscReaderSet, pcscAvailable } from '../../src/cards/transport/pcsc.js';
import { VpcdCardBridge } from '../../src/cards/transport/vpcd.js';

export const VIRTUAL_READER = 'Virtual PCD 00 00';

export interface InsertedCard {
  card: VirtualPivCard;
  bridge: VpcdCardBridge;
  /** Every command APDU the card received, in order (hex). */
  commands: string[];
  remove(): Promise<void>;
}

export async function insertVirtualCard(
  opts: { file?: string; card?: VirtualPivCard } = {},
): Promise<InsertedCard> {
  let card = opts.card;
  if (!card) {
    if (opts.file) {
      const storage = new FileCardStorage(opts.file);
      card = new VirtualPivCard(storage.loadOrCreate().state, { storage });
    } else {
      card = new VirtualPivCard();
    }
  }
  const commands: string[] = [];
  const bridge = new VpcdCardBridge(card, {
    onApdu: (c) => commands.push(Buffer.from(c).toString('hex')),
  });
  await bridge.start();
  await bridge.whenPowered(15_000);
  await cardSeenByPcscd(VIRTUAL_READER);
  return { card, bridge, commands, remove: () => bridge.stop() };
}

/**
 * Waits until pcscd tells its clients that `reader` holds a card: it does so at its next poll of
 * the driver, which on a busy machine may be late, so this asks rather than sleeping a fixed time.
 */
export async function cardSeenByPcscd(reader: string, timeoutMs = 15_000): Promise<void> {
  if (!pcscAvailable()) {
    // Without the PC/SC addon there is no way to ask; the tools that need the card will say so.
    await new Promise((r) => setTimeout(r, 1000));
    return;
  }
  const readers = PcscReaderSet.open({ exclusive: false });
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await readers.list()).some((r) => r.name === reader && r.cardPresent)) {
      if (Date.now() > deadline)
        throw new Error(`pcscd did not report a card in "${reader}" within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await readers.close();
  }
}
