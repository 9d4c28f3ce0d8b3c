// Opening the card in a reader of a person's agent: a PIV session and the card's serial. Every use
// case that touches a card opens it here, so "the reader holds another card" is said one way.
import { PivSession } from '../../cards/piv/piv-session.js';
import type { CardConnection } from '../../cards/transport/types.js';
import { ConflictError } from '../../domain/errors.js';
import type { CardAccess } from '../card-access.js';

/** A reader of one of the acting person's agents. */
export interface CardRef {
  agentId: string;
  reader: string;
}

export interface OpenedCard {
  conn: CardConnection;
  session: PivSession;
  serial: string;
}

/** Closes a card connection, ignoring a failure to (the card may be gone already). */
export async function closeQuietly(conn: CardConnection): Promise<void> {
  await conn.close?.().catch(() => undefined);
}

export class CardReader {
  constructor(private readonly cards: Pick<CardAccess, 'connect'>) {}

  /** Connects to the card in a reader and reads its serial; the caller closes the connection. */
  async open(owner: string, card: CardRef): Promise<OpenedCard> {
    const conn = await this.cards.connect(owner, card.agentId, card.reader);
    try {
      const session = await PivSession.open(conn);
      return { conn, session, serial: (await session.getSerial()).serial };
    } catch (e) {
      await closeQuietly(conn);
      throw e;
    }
  }

  /** open, refusing (and closing) when the reader holds another card than `device`. */
  async openDevice(owner: string, card: CardRef, device: { serial: string }): Promise<OpenedCard> {
    const opened = await this.open(owner, card);
    if (opened.serial.toUpperCase() !== device.serial.toUpperCase()) {
      await closeQuietly(opened.conn);
      throw new ConflictError(
        `The reader holds card ${opened.serial}, not ${device.serial}: insert the right card`,
      );
    }
    return opened;
  }
}
