// The card application as the phone runs it: bundled for the browser (esbuild, platform browser,
// from the same sources as the emulator) and run in Chromium on Chromium's WebCrypto. The PIV card
// tests drive it like any card: `BrowserCard` is only the wire — each APDU goes into the page and
// the page's card answers it (and its state comes back, for the tests that look at what it stores).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { CardCrypto } from '../../src/cards/emulator/card-crypto.js';
import type { CardState } from '../../src/cards/emulator/card-state.js';
import type { PivCardApplication } from '../../src/cards/emulator/piv-card-application.js';
import { fromHex, toHex } from '../../src/cards/bytes.js';
import { hasChromium, launchChromium } from '../e2e/browser.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What the page exposes (window.tesseraCards), built from src/ into one browser script. */
const PAGE_ENTRY = `
import { PivCardApplication } from './src/cards/emulator/piv-card-application.ts';
import { WebCardCrypto } from './src/cards/emulator/web-card-crypto.ts';
import { fromBase64Url, fromHex, toHex } from './src/cards/bytes.ts';
const cards = new Map();
let next = 0;
window.tesseraCards = {
  async create(stateJson) {
    const key = await WebCardCrypto.newStorageKey();
    const card = new PivCardApplication(stateJson ? JSON.parse(stateJson) : undefined, {
      crypto: new WebCardCrypto(key),
    });
    const id = ++next;
    cards.set(id, { card, key });
    return { id, atr: toHex(card.atr), state: JSON.stringify(card.snapshot()) };
  },
  reset(id) {
    cards.get(id).card.reset();
  },
  async transmit(id, apdu) {
    const { card } = cards.get(id);
    const response = await card.transmit(fromHex(apdu));
    return { response: toHex(response), state: JSON.stringify(card.snapshot()) };
  },
  // For tests that look for a key's secret where it must not be: the card's own storage key opens
  // its sealed key, as the card does for one operation.
  async secretOf(id, stored) {
    const [, iv, ct] = stored.split(':');
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: new TextEncoder().encode('tessera wallet card key') },
      cards.get(id).key,
      fromBase64Url(ct),
    );
    return toHex(fromBase64Url(JSON.parse(new TextDecoder().decode(plain)).d));
  },
  storageKeyExtractable(id) {
    return cards.get(id).key.extractable;
  },
};
`;

let shared: Promise<{ browser: Browser; page: Page }> | undefined;

async function pageWithCards(): Promise<Page> {
  shared ??= (async () => {
    const script = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: repoRoot, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const browser = await launchChromium();
    const page = await browser.newPage();
    // A page of its own on a loopback origin (served here, no server): a secure context, so
    // WebCrypto is there as on the wallet's https page.
    const origin = 'http://127.0.0.1:9/';
    await page.route(`${origin}**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>card</title>' }),
    );
    await page.goto(origin);
    await page.addScriptTag({ content: script.outputFiles[0]!.text });
    if (!(await page.evaluate(() => window.isSecureContext))) throw new Error('not a secure context');
    return { browser, page };
  })();
  return (await shared).page;
}

/** Closes the shared Chromium (afterAll of a file that used browser cards). */
export async function closeBrowserCards(): Promise<void> {
  const s = await shared;
  shared = undefined;
  await s?.browser.close();
}

type PageCards = {
  create(state: string | null): Promise<{ id: number; atr: string; state: string }>;
  reset(id: number): void;
  transmit(id: number, apdu: string): Promise<{ response: string; state: string }>;
  secretOf(id: number, stored: string): Promise<string>;
  storageKeyExtractable(id: number): boolean;
};
declare global {
  interface Window {
    tesseraCards: PageCards;
  }
}

/** A card whose every command is answered by the card application in the Chromium page. */
export class BrowserCard {
  private queue: Promise<unknown> = Promise.resolve();
  private state: CardState;

  private constructor(
    private readonly page: Page,
    readonly id: number,
    readonly atr: Uint8Array,
    state: string,
  ) {
    this.state = JSON.parse(state) as CardState;
  }

  static async create(state?: CardState): Promise<BrowserCard> {
    const page = await pageWithCards();
    const made = await page.evaluate(
      (s) => window.tesseraCards.create(s),
      state ? JSON.stringify(state) : null,
    );
    return new BrowserCard(page, made.id, fromHex(made.atr), made.state);
  }

  get serial(): number {
    return this.state.serial;
  }

  snapshot(): CardState {
    return structuredClone(this.state);
  }

  /** Power-up: in order with the commands (one queue), as a reader would. */
  reset(): Uint8Array {
    this.queue = this.queue.then(() => this.page.evaluate((id) => window.tesseraCards.reset(id), this.id));
    return this.atr;
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const done = this.queue.then(async () => {
      const r = await this.page.evaluate(([id, a]) => window.tesseraCards.transmit(id, a), [
        this.id,
        toHex(apdu),
      ] as const);
      this.state = JSON.parse(r.state) as CardState;
      return fromHex(r.response);
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  secretOf(stored: string): Promise<string> {
    return this.page.evaluate(([id, s]) => window.tesseraCards.secretOf(id, s), [this.id, stored] as const);
  }

  storageKeyExtractable(): Promise<boolean> {
    return this.page.evaluate((id) => window.tesseraCards.storageKeyExtractable(id), this.id);
  }

  /** For the memory reader, which needs only atr, reset and transmit of a card. */
  asCard(): PivCardApplication {
    return this as unknown as PivCardApplication;
  }
}

/**
 * The PIV card tests' third provider: the browser build of the card application in Chromium. Its
 * `crypto` is a handle on the card (the keys live in the page), used only by secretOf.
 */
export const chromiumCards = {
  name: 'chromium',
  available: hasChromium,
  card: async (state?: CardState) => BrowserCard.create(state),
  secretOf: (crypto: CardCrypto | undefined, stored: string) =>
    (crypto as unknown as BrowserCard).secretOf(stored),
};
