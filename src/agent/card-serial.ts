// The serial of the card in a reader, read by the agent itself when the card comes (the protocol's
// card-serial feature, cards/transport/agent-protocol.ts): every server then knows which card is in
// the reader without a card exchange of its own (issue #20). It is a hint, not proof: the server
// that runs the card checks the serial again when it opens it.
import { PivSession } from '../cards/piv/piv-session.js';
import type { CardConnection } from '../cards/transport/types.js';
import { CARD_SERIAL_PATTERN } from '../cards/transport/agent-protocol.js';

const SERIAL = new RegExp(CARD_SERIAL_PATTERN);

/** The card's serial, or undefined when it has none we can read (not a PIV card, mute, removed). */
export async function readCardSerial(conn: CardConnection): Promise<string | undefined> {
  try {
    const session = await PivSession.open(conn);
    const { serial } = await session.getSerial();
    return SERIAL.test(serial) ? serial : undefined;
  } catch {
    return undefined;
  }
}
