// The virtual PIV card of the emulator, the demo agent and `tessera card emulate`: the PIV card
// application on Node's crypto (the phone's wallet runs the same application on WebCrypto).
import { PivCardApplication, VIRTUAL_CARD_ATR, type PivCardOptions } from './piv-card-application.js';
import type { CardState } from './card-state.js';
import { NodeCardCrypto } from './node-card-crypto.js';
import { padPin } from './card-state.js';

export type VirtualPivCardOptions = Partial<PivCardOptions>;

export class VirtualPivCard extends PivCardApplication {
  constructor(state?: CardState, opts: VirtualPivCardOptions = {}) {
    super(state, { ...opts, crypto: opts.crypto ?? new NodeCardCrypto() });
  }
}

export { VIRTUAL_CARD_ATR, padPin };
