// How services reach cards: through the readers of agents paired to a person. The agent hub
// implements this over WebSockets; tests may implement it over in-process virtual readers.
import type { CardConnection, ReaderEvent } from '../cards/transport/types.js';

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
  connect(ownerUserId: string, agentId: string, reader: string): Promise<CardConnection>;
  /** Subscribe to reader/card changes of a person's agents; returns unsubscribe. */
  watch(ownerUserId: string, listener: (e: { agentId: string } & ReaderEvent) => void): () => void;
}
