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

/**
 * A card in a reader of an agent another server holds, known by the serial that server published
 * (several servers, issue #20): not opened here. Its job is queued for the holder, which opens the
 * card and checks the serial before it runs (services/issuance/job-dispatch.ts).
 */
export interface CardElsewhere extends CardRef {
  holder: string;
  serial: string;
}

/** A card a job may start on: opened here, or named for the server holding its agent. */
export type ReachedCard = OpenedCard | CardElsewhere;

/** Closes a card connection, ignoring a failure to (the card may be gone already). */
export async function closeQuietly(conn: CardConnection): Promise<void> {
  await conn.close?.().catch(() => undefined);
}

/** Lets go of a reached card: closes it when it was opened here. */
export async function release(card: ReachedCard): Promise<void> {
  if ('conn' in card) await closeQuietly(card.conn);
}

export class CardReader {
  constructor(private readonly cards: Pick<CardAccess, 'connect' | 'heldElsewhere'>) {}

  /**
   * The card for a job's start: known by its serial when another server holds its agent and has
   * published the serial (no card exchange between servers); otherwise opened (`open`).
   */
  async reach(owner: string, card: CardRef): Promise<ReachedCard> {
    const far = await this.cards.heldElsewhere?.(owner, card.agentId, card.reader);
    return far ? { agentId: card.agentId, reader: card.reader, ...far } : this.open(owner, card);
  }

  /** reach, refusing (and letting go) when the reader holds another card than `device`. */
  async reachDevice(owner: string, card: CardRef, device: { serial: string }): Promise<ReachedCard> {
    return expectDevice(await this.reach(owner, card), device);
  }

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
    return expectDevice(await this.open(owner, card), device);
  }
}

async function expectDevice<T extends ReachedCard>(card: T, device: { serial: string }): Promise<T> {
  if (card.serial.toUpperCase() === device.serial.toUpperCase()) return card;
  await release(card);
  throw new ConflictError(
    `The reader holds card ${card.serial}, not ${device.serial}: insert the right card`,
  );
}
