// How services reach cards: through the readers of agents paired to a person. The agent hub
// implements this over WebSockets; tests may implement it over in-process virtual readers.
import type { CardConnection, TransmitOptions, ReaderEvent } from '../cards/transport/types.js';
import { ExternalError } from '../domain/errors.js';

export interface ConnectedReader {
  agentId: string;
  agentName: string;
  reader: string;
  cardPresent: boolean;
  /** Hex. */
  atr: string | null;
}

export interface CardAccess {
  /** Readers of the live agents paired to this person (operator or portal user). */
  listReaders(ownerUserId: string): Promise<ConnectedReader[]>;
  /** A connection to the card in that reader; refuses agents not owned by ownerUserId. */
  connect(
    ownerUserId: string,
    agentId: string,
    reader: string,
    opts?: TransmitOptions,
  ): Promise<CardConnection>;
  /**
   * Several servers: the serial of the card in a reader of an agent another server holds, as that
   * server published it (null: held here, or not known). A start there needs no card exchange.
   */
  heldElsewhere?(
    ownerUserId: string,
    agentId: string,
    reader: string,
  ): Promise<{ holder: string; serial: string } | null>;
  /** Subscribe to reader/card changes of a person's agents; returns unsubscribe. */
  watch(ownerUserId: string, listener: (e: { agentId: string } & ReaderEvent) => void): () => void;
}

/** No agent connected: no readers, and connecting says what to do. */
export const noAgents: CardAccess = {
  listReaders: async () => [],
  connect: async () => {
    throw new ExternalError(
      'agent_not_connected',
      'No agent with that reader is connected: start `tessera agent` on the workstation with the card reader and pair it',
    );
  },
  watch: () => () => undefined,
};
