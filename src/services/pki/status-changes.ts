// How word of a certificate's status change reaches every OCSP responder that keeps answers
// (ocsp-cache.ts). This one interface is all the responders know of it: in one process the word
// goes to the listeners directly (LocalStatusChanges); when several servers share PostgreSQL the
// same interface is implemented with LISTEN/NOTIFY (NOTIFY after the change commits, each server's
// LISTEN connection calls its listeners), and nothing else changes.

import type { Bus } from '../cluster/bus.js';

export type StatusChange =
  /** One certificate of the CA changed status. */
  | { caId: string; serial: string }
  /** Everything about the CA changed (its responder was renewed, it was re-imported). */
  | { caId: string; serial: null };

export type StatusChangeListener = (change: StatusChange) => void;

export interface StatusChanges {
  /** Tells every listener, here and on other servers; called after the change is committed. */
  announce(change: StatusChange): Promise<void>;
  /** Calls `listener` for each change announced from now on; returns the function that stops it. */
  subscribe(listener: StatusChangeListener): () => void;
}

/** Within this process: listeners are called before announce returns. */
export class LocalStatusChanges implements StatusChanges {
  readonly #listeners = new Set<StatusChangeListener>();

  announce(change: StatusChange): Promise<void> {
    for (const l of this.#listeners) l(change);
    return Promise.resolve();
  }

  subscribe(listener: StatusChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Across the servers sharing a database: said on the bus (services/cluster/bus.ts), heard here at
 * once and on the others through LISTEN/NOTIFY. (What a server may have missed while its LISTEN
 * connection was down is its bus's resync: services/pki/pki.ts drops every kept answer then.)
 */
export class BusStatusChanges implements StatusChanges {
  readonly #listeners = new Set<StatusChangeListener>();
  readonly #bus: Pick<Bus, 'publish'>;

  constructor(bus: Pick<Bus, 'publish' | 'subscribe'>) {
    this.#bus = bus;
    bus.subscribe('status', (payload) => {
      const change = JSON.parse(payload) as StatusChange;
      for (const l of this.#listeners) l(change);
    });
  }

  announce(change: StatusChange): Promise<void> {
    this.#bus.publish('status', JSON.stringify(change));
    return Promise.resolve();
  }

  subscribe(listener: StatusChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
