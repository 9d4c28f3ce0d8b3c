// Shared pieces of the browser tests: Debian's Chromium through playwright-core, a fresh build of
// the web app when dist/web is missing, screenshots into a temporary directory (on request), and an
// accessibility smoke check (every form control has an accessible name that getByLabel finds).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** expect.poll's options: the machine is shared, so a page may take seconds to settle. */
export const POLL = { timeout: 30_000, interval: 100 };
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n*** SKIPPING browser tests: ${CHROMIUM} is missing. Install it with scripts/install-peers.sh (Debian package "chromium"). ***\n`,
  );

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The server serves dist/web; CI builds it first (npm run build); a bare checkout builds it here. */
export async function ensureWebBuilt(): Promise<void> {
  if (existsSync(join(repoRoot, 'dist/web/index.html'))) return;
  const { build } = await import('vite');
  // As `npm run build` makes it: vite keeps the NODE_ENV it finds, and vitest's "test" would give
  // React's development build, whose StrictMode mounts each effect twice (a dialog's focus return
  // then runs while it is still open, and the keyboard test fails in a bare checkout only).
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(repoRoot, 'web/vite.config.ts'), logLevel: 'warn' });
  } finally {
    if (env === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = env;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Chromium exits when the system D-Bus it connected to goes away, and the printing tests start
    // and stop dbus-daemon for Avahi while browser tests run: the "Target page, context or browser
    // has been closed" of earlier full runs. The browser needs no D-Bus here.
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: 'disabled:', DBUS_SESSION_BUS_ADDRESS: 'disabled:' },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Full-page screenshots of the pages a test walks through, for a person to look at: taken only with
 * TESSERA_E2E_SCREENSHOTS=1. No assertion reads them, and each costs a few hundred milliseconds of a
 * busy machine (over a hundred in a run), so CI does without.
 */
export const SCREENSHOTS = process.env.TESSERA_E2E_SCREENSHOTS === '1';

/** Where a file's screenshots go (made, and printed, only when they are taken). */
export function screenshotDir(): string {
  if (!SCREENSHOTS) return join(tmpdir(), 'tessera-e2e-screenshots-off');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  console.log(`browser test screenshots: ${dir}`);
  return dir;
}

/** A full-page screenshot `name`.png in `dir`, when screenshots are on. */
export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/**
 * Every visible input, select and textarea must have an accessible name (a <label>, aria-label or
 * aria-labelledby), and page.getByLabel(name) must find it. Returns the names checked.
 */
export async function expectLabelledControls(page: Page): Promise<string[]> {
  const controls = await page.evaluate(() => {
    const out: { name: string; html: string }[] = [];
    for (const el of Array.from(document.querySelectorAll('input, select, textarea'))) {
      const input = el as HTMLInputElement;
      if (input.type === 'hidden') continue;
      const box = input.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      const fromLabels = Array.from(input.labels ?? [])
        .map((l) => l.textContent ?? '')
        .join(' ');
      const fromAria = input.getAttribute('aria-label') ?? '';
      const fromRefs = (input.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' ');
      const name = (fromAria || fromRefs || fromLabels).replace(/\s+/g, ' ').trim();
      out.push({ name, html: input.outerHTML.slice(0, 160) });
    }
    return out;
  });
  const unnamed = controls.filter((c) => !c.name).map((c) => c.html);
  if (unnamed.length)
    throw new Error(`form controls without an accessible name on ${page.url()}:\n${unnamed.join('\n')}`);
  for (const { name } of controls) {
    const found = await page.getByLabel(name, { exact: true }).count();
    if (found < 1) throw new Error(`page.getByLabel(${JSON.stringify(name)}) finds nothing on ${page.url()}`);
  }
  return controls.map((c) => c.name);
}

/**
 * Every visible disabled button says why in plain sight: its accessible description (aria-describedby)
 * names visible text, or its own label says it is busy ("Setting up…"). Returns each disabled
 * button's name with its reason.
 */
export async function expectDisabledButtonsExplained(page: Page): Promise<{ name: string; why: string }[]> {
  const found = await page.evaluate(() =>
    Array.from(document.querySelectorAll('button:disabled'))
      .filter((b) => {
        const box = b.getBoundingClientRect();
        return box.width > 0 && box.height > 0;
      })
      .map((b) => {
        const refs = (b.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
        const why = refs
          .map((id) => document.getElementById(id))
          .filter((el): el is HTMLElement => !!el && el.getBoundingClientRect().height > 0)
          .map((el) => el.innerText)
          .join(' ')
          .trim();
        return { name: (b.textContent ?? '').trim(), why };
      }),
  );
  const silent = found.filter((b) => !b.why && !b.name.endsWith('…'));
  if (silent.length)
    throw new Error(
      `disabled buttons with no visible reason on ${page.url()}: ${silent.map((b) => b.name).join(', ')}`,
    );
  return found;
}

/**
 * The browser's locale and time zone, fixed so that what a page shows does not depend on the
 * machine running the tests. Deliberately neither UTC nor the suite's own zone (CI runs in
 * America/St_Johns): a date shown in the wrong zone cannot pass for the right one.
 */
export const BROWSER_LOCALE = 'en-GB';
export const BROWSER_TIME_ZONE = 'Asia/Kolkata'; // UTC+05:30, no daylight saving

/** "14:05" for an instant, as a clock in the browser's zone shows it. */
export function browserClock(iso: string): string {
  return new Intl.DateTimeFormat(BROWSER_LOCALE, {
    timeZone: BROWSER_TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
}

export interface BrowserPage {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Where this file's screenshots go. */
  shots: string;
}

/**
 * Chromium with one page on `baseURL`: a 30 s default timeout (the machine is shared) and every
 * uncaught page error pushed to `pageErrors`, which tests expect to stay empty.
 */
export async function openBrowserPage(
  baseURL: string,
  pageErrors: string[],
  viewport = { width: 1280, height: 860 },
): Promise<BrowserPage> {
  const browser = await launchChromium();
  return {
    browser,
    ...(await newBrowserPage(browser, baseURL, pageErrors, viewport)),
    shots: screenshotDir(),
  };
}

/**
 * A fresh context (no cookies, no storage: as a browser closed and opened again) with one page,
 * set up as openBrowserPage's.
 */
export async function newBrowserPage(
  browser: Browser,
  baseURL: string,
  pageErrors: string[],
  viewport = { width: 1280, height: 860 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL,
    viewport,
    locale: BROWSER_LOCALE,
    timezoneId: BROWSER_TIME_ZONE,
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // Whatever the server's Content-Security-Policy blocks (an inline script or style, a foreign
  // origin) is a page error too: Chromium reports each refusal on the console.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
  });
  return { context, page };
}

/** Signs in to the operator portal and waits for its first page. */
export async function signInOperator(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
}
