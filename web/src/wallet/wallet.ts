// The phone's wallet without its screen: the PIV card application (the emulator's, on WebCrypto,
// decision 0021) with its state in IndexedDB, and its link to the server (docs/mobile.md "The link"):
// a one-time code from the portal's QR code the first time, the link's token after that, and
// reconnection with back-off when the connection drops. The screen subscribes to its view.
import { PivCardApplication } from '../../../src/cards/emulator/piv-card-application.ts';
import { WebCardCrypto } from '../../../src/cards/emulator/web-card-crypto.ts';
import { newCardState, type CardState, type Counter } from '../../../src/cards/emulator/card-state.ts';
import {
  WalletLink,
  WalletLinkRefused,
  type LinkSocket,
  type WalletJobStatus,
  type KeyUseRequest,
  type WalletOffer,
  type WalletPairingItem,
  type WalletResult,
} from '../../../src/cards/transport/wallet-link.ts';
import { walletStore, type SavedLink } from './wallet-store';

export type LinkState =
  | { kind: 'unlinked' }
  | { kind: 'connecting' }
  | { kind: 'connected' }
  /** Lost; trying again in a moment (the token is kept). */
  | { kind: 'reconnecting'; inSeconds: number }
  /** The server refused the code or token: the message says to ask for a new link. */
  | { kind: 'refused'; message: string };

export interface WalletView {
  serial: number;
  /** The server's name for this phone ("Bob's phone") once linked. */
  linkedAs: string | null;
  link: LinkState;
  /** The server is sending commands to the card right now. */
  busy: boolean;
  /** Slots holding a key, and slots whose certificate is on the card. */
  keys: string[];
  certificates: string[];
  pin: Counter;
  puk: Counter;
  job: WalletJobStatus | null;
  /** Remote issuance: new credentials the server offers this phone ("ready for you"). */
  offer: WalletOffer | null;
  /** The server's answer to the person's last step here (accept, PIN, retry), until the next one. */
  result: WalletResult | null;
  /** A step was sent and its answer is awaited. */
  sending: boolean;
  /** Workstations using (or asking to use) this phone as their smart card. */
  pairings: WalletPairingItem[];
  /** A workstation's application waits for the person to allow a use of a key. */
  keyUse: KeyUseRequest | null;
}

/** PIV certificate objects by slot (SP 800-78-4 Table 3 / 800-73-4 Part 1 Table 3). */
const CERT_OBJECTS: Record<string, string> = {
  '5fc105': '9A',
  '5fc10a': '9C',
  '5fc10b': '9D',
  '5fc101': '9E',
};
const BACKOFF_S = [1, 2, 5, 10, 30];
/** How long a workstation's key use waits for Allow before it is refused. */
const KEY_USE_WAIT_MS = 60_000;
/** How long after the last command the card counts as idle again. */
const BUSY_MS = 1500;

const wsUrl = (): string =>
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/wallet/ws`;

export class Wallet {
  private card!: PivCardApplication;
  private saved: SavedLink | undefined;
  private link: WalletLink | undefined;
  private state: LinkState = { kind: 'unlinked' };
  private job: WalletJobStatus | null = null;
  private offer: WalletOffer | null = null;
  private result: WalletResult | null = null;
  private sending = false;
  private pairings: WalletPairingItem[] = [];
  private keyUse: { request: KeyUseRequest; answer: (ok: boolean) => void } | null = null;
  private busy = false;
  private busyTimer: number | undefined;
  private retryTimer: number | undefined;
  private attempt = 0;
  /** Bumped by every connect and by reset: events of an older link are ignored. */
  private generation = 0;
  private listeners = new Set<(v: WalletView) => void>();

  /** Opens this phone's wallet, creating a blank card (and its storage key) the first time. */
  static async open(): Promise<Wallet> {
    const w = new Wallet();
    await w.load();
    return w;
  }

  private async load(): Promise<void> {
    let key = await walletStore.storageKey();
    let state = await walletStore.card();
    if (!key || !state) {
      // Half a wallet (a key without a card, or the reverse) cannot be used: start afresh.
      await walletStore.wipe();
      key = await WebCardCrypto.newStorageKey();
      state = newCardState();
      await walletStore.create(key, state);
    }
    this.card = this.makeCard(key, state);
    this.saved = await walletStore.link();
  }

  private makeCard(key: CryptoKey, state: CardState): PivCardApplication {
    return new PivCardApplication(state, {
      crypto: new WebCardCrypto(key),
      storage: { save: (s) => walletStore.saveCard(s) },
    });
  }

  subscribe(listener: (v: WalletView) => void): () => void {
    this.listeners.add(listener);
    listener(this.view());
    return () => this.listeners.delete(listener);
  }

  view(): WalletView {
    const s = this.card.snapshot();
    return {
      serial: s.serial,
      linkedAs: this.saved?.name ?? null,
      link: this.state,
      busy: this.busy,
      keys: Object.keys(s.keys)
        .filter((slot) => slot !== 'f9')
        .map((slot) => slot.toUpperCase())
        .sort(),
      certificates: Object.entries(CERT_OBJECTS)
        .filter(([tag]) => s.objects[tag])
        .map(([, slot]) => slot)
        .sort(),
      pin: s.pinCounter,
      puk: s.pukCounter,
      job: this.job,
      offer: this.offer,
      result: this.result,
      sending: this.sending,
      pairings: this.pairings,
      keyUse: this.keyUse?.request ?? null,
    };
  }

  private changed(): void {
    const v = this.view();
    for (const l of this.listeners) l(v);
  }

  /** Connects with a one-time code (from the link) or, without one, the saved token if any. */
  connect(code?: string): void {
    if (!code && !this.saved) return;
    this.stopLink();
    const generation = ++this.generation;
    this.state = { kind: 'connecting' };
    this.changed();
    const link = new WalletLink({
      open: () => new WebSocket(wsUrl()) as unknown as LinkSocket,
      card: this.card,
      ...(code ? { code } : {}),
      ...(this.saved ? { token: this.saved.token } : {}),
      confirmKeyUse: (request) => this.askKeyUse(request),
      onEvent: (e) => {
        if (generation !== this.generation) return;
        switch (e.type) {
          case 'connected':
            this.attempt = 0;
            this.state = { kind: 'connected' };
            break;
          case 'status':
            this.job = e.job;
            break;
          case 'offer':
            this.offer = e.offer;
            break;
          case 'pairings':
            this.pairings = e.items;
            break;
          case 'result':
            this.result = e.result;
            this.sending = false;
            break;
          case 'card-used':
            this.busy = true;
            window.clearTimeout(this.busyTimer);
            this.busyTimer = window.setTimeout(() => {
              this.busy = false;
              this.changed();
            }, BUSY_MS);
            break;
          case 'closed':
            this.busy = false;
            this.sending = false;
            if (this.state.kind === 'connected') this.retryLater();
            break;
          case 'linked':
            break;
        }
        this.changed();
      },
    });
    this.link = link;
    link.start().then(
      async (info) => {
        if (generation !== this.generation) return;
        // A code's answer brings a new token; a resume keeps the one it used.
        this.saved = { walletId: info.walletId, name: info.name, token: info.token ?? this.saved!.token };
        await walletStore.saveLink(this.saved);
        this.changed();
      },
      async (e: unknown) => {
        if (generation !== this.generation) return;
        const refused = e instanceof WalletLinkRefused && e.code !== 'closed';
        if (refused && !code) {
          // The server no longer knows this wallet's token (revoked): it must be linked anew.
          this.saved = undefined;
          await walletStore.saveLink(undefined);
        }
        if (refused || code) this.state = { kind: 'refused', message: messageOf(e) };
        else this.retryLater();
        this.changed();
      },
    );
  }

  /** Remote issuance: the person accepts the offered credentials. */
  enrol(requestId: string): void {
    this.step(() => this.link?.enrol(requestId));
  }

  /** The PIN chosen on this phone at the end of a remote issuance (checked by the server's policy). */
  choosePin(jobId: string, pin: string, confirmation: string): void {
    this.step(() => this.link?.choosePin(jobId, pin, confirmation));
  }

  /** Try a failed remote issuance again. */
  retry(jobId: string): void {
    this.step(() => this.link?.retry(jobId));
  }

  /** Allow or refuse a workstation's request to use this phone as its smart card. */
  decidePairing(pairingId: string, allow: boolean): void {
    this.link?.decidePairing(pairingId, allow);
  }

  /** End a workstation's use of this phone. */
  unpair(pairingId: string): void {
    this.link?.unpair(pairingId);
  }

  /** The person's answer to the key use shown (Allow / Refuse). */
  answerKeyUse(ok: boolean): void {
    const k = this.keyUse;
    this.keyUse = null;
    k?.answer(ok);
    this.changed();
  }

  /** A workstation wants a key: shown until answered, refused after a minute without an answer. */
  private askKeyUse(request: KeyUseRequest): Promise<boolean> {
    this.keyUse?.answer(false);
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => this.answerKeyUse(false), KEY_USE_WAIT_MS);
      this.keyUse = {
        request,
        answer: (ok) => {
          window.clearTimeout(timer);
          resolve(ok);
        },
      };
      this.changed();
    });
  }

  private step(send: () => void): void {
    this.result = null;
    this.sending = true;
    send();
    this.changed();
  }

  /** The connection dropped: try again with the token, waiting longer each time. */
  private retryLater(): void {
    if (!this.saved) {
      this.state = { kind: 'unlinked' };
      return;
    }
    const wait = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)]!;
    this.attempt += 1;
    this.state = { kind: 'reconnecting', inSeconds: wait };
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.connect(), wait * 1000);
  }

  private stopLink(): void {
    window.clearTimeout(this.retryTimer);
    this.link?.close();
    this.link = undefined;
  }

  /**
   * Wipes the wallet: keys, certificates, PIN. A new blank card (new serial) takes its place. The
   * link's token alone is kept, to tell the server at the next connection (now, or when the network
   * is back) that the card it knew was wiped: the server ends what it held and the link, and the
   * token is dropped then (docs/mobile.md "A wallet reset").
   */
  async reset(): Promise<void> {
    this.generation += 1;
    this.stopLink();
    const report = this.saved;
    await walletStore.wipe();
    const key = await WebCardCrypto.newStorageKey();
    const state = newCardState();
    await walletStore.create(key, state);
    if (report) await walletStore.saveLink(report);
    this.card = this.makeCard(key, state);
    this.saved = report;
    this.job = null;
    this.offer = null;
    this.result = null;
    this.sending = false;
    this.pairings = [];
    this.keyUse?.answer(false);
    this.keyUse = null;
    this.busy = false;
    this.attempt = 0;
    this.state = { kind: 'unlinked' };
    this.changed();
    if (report) this.connect();
  }
}

function messageOf(e: unknown): string {
  if (e instanceof WalletLinkRefused && e.code === 'closed')
    return 'Could not reach the server. Check the connection and open the link again.';
  return e instanceof Error ? e.message : String(e);
}
