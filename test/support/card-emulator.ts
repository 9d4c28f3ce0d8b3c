// A virtual PIV card inserted into pcscd's vsmartcard reader for a test, with every APDU recorded
// so a test can tell what a tool actually sent.
import { FileCardStorage } from '../../src/cards/emulator/card-state.js';
import { VirtualPivCard } from '../../src/cards/emulator/virtual-piv-card.js';
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
  // pcscd reports the card to clients at its next poll of the driver.
  await new Promise((r) => setTimeout(r, 500));
  return { card, bridge, commands, remove: () => bridge.stop() };
}
