// What the phone's wallet keeps, in IndexedDB (idb-keyval): the storage key (a non-extractable
// AES-GCM CryptoKey, kept as the object itself: IndexedDB stores CryptoKeys without their bytes ever
// reaching script), the card's state (its keys only sealed under that storage key, decision 0021)
// and the link's token for reconnecting. A reset clears all three, then writes the token back until
// the server has heard of the reset (wallet.ts).
import { clear, createStore, get, set, setMany } from 'idb-keyval';
import type { CardState } from '../../../src/cards/emulator/card-state.ts';

const store = createStore('tessera-wallet', 'wallet');

/** The wallet's link to its server, kept to come back after a lost connection or a reload. */
export interface SavedLink {
  walletId: string;
  name: string;
  token: string;
}

export const walletStore = {
  storageKey: () => get<CryptoKey>('storageKey', store),
  card: () => get<CardState>('card', store),
  link: () => get<SavedLink>('link', store),
  /** A new wallet: its storage key and blank card, written together. */
  create: (storageKey: CryptoKey, card: CardState) =>
    setMany(
      [
        ['storageKey', storageKey],
        ['card', card],
      ],
      store,
    ),
  saveCard: (card: CardState) => set('card', card, store),
  saveLink: (link: SavedLink | undefined) => set('link', link, store),
  wipe: () => clear(store),
};
