// Issuing with card printing in the operator portal (reference 002), in Chromium against a server
// running the demo agents of `tessera start`: their virtual card printer (its encoder is a virtual
// reader holding a blank emulated PIV card) writes each printed card as a PDF. The issuance officer
// configures the printer once, issues and prints alice's card with the PIV layout (her photo on
// it), sees the card as printed at the print step and confirms: active, with its certificates. The
// next issuance proposes the same printer and reader; Cancel at the print step leaves bob's card
// pending, and it is activated later from his User page.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUER_USERNAME, DEMO_PRINTER_NAME, demoReaderName } from '../../src/services/demo-agent.js';
import { makeJpeg } from '../support/images.js';
import { ApiClient, startTestServer, type TestServer } from '../support/server.js';
import {
  ensureWebBuilt,
  expectLabelledControls,
  hasChromium,
  openBrowserPage,
  POLL,
  screenshot,
  signInOperator,
} from './browser.js';

const ENCODER = demoReaderName(0);

describe.skipIf(!hasChromium)('card printing during issuance (Chromium)', { timeout: 300_000 }, () => {
  let srv: TestServer;
  let admin: ApiClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const ids: Record<string, string> = {};
  const pageErrors: string[] = [];

  const shoot = (name: string) => screenshot(page, shots, name);
  const dialog = () => page.locator('dialog[open]');
  const dialogTitled = (name: string | RegExp) =>
    page.locator('dialog[open]').filter({ has: page.getByRole('heading', { name }) });
  const openUser = async (username: string, name: RegExp) => {
    await page.goto(`/operator/users/${ids[username]}`);
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };
  const devicesOf = async (username: string) =>
    (
      await admin.json<{ items: { id: string; serial: string; state: string }[] }>(
        'GET',
        `/api/users/${ids[username]}/devices`,
      )
    ).body.items;

  /** The share of a canvas's pixels near an RGB colour. */
  const shareOf = (img: ReturnType<Page['getByRole']>, rgb: [number, number, number]) =>
    img.evaluate((c, [r, g, b]) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (Math.abs(d[i]! - r) < 40 && Math.abs(d[i + 1]! - g) < 40 && Math.abs(d[i + 2]! - b) < 40) n++;
      return n / (d.length / 4);
    }, rgb);

  beforeAll(async () => {
    await ensureWebBuilt();
    srv = await startTestServer({ demo: true, demoAgents: true });
    admin = new ApiClient(srv.url);
    await admin.login(srv.admin.username, srv.admin.password);
    for (const u of ['alice', 'bob', 'carol'])
      ids[u] = (
        await admin.json<{ items: { id: string; username: string }[] }>('GET', `/api/users?q=${u}`)
      ).body.items.find((x) => x.username === u)!.id;
    const s = (await admin.json<Record<string, unknown>>('GET', '/api/settings')).body;
    await admin.json('PUT', '/api/settings', {
      ...s,
      initialPinDisplayMode: 'displayed',
      changePinDuringIssuance: false,
    });
    // Alice's photo: a red picture, so her card is recognisably hers.
    const photo = await makeJpeg(300, 400, '#C03020');
    expect(
      (await admin.json('PUT', `/api/users/${ids.alice}/photo`, { data: photo.toString('base64') })).status,
    ).toBe(200);
    ({ browser, context, page, shots } = await openBrowserPage(srv.url, pageErrors, {
      width: 1280,
      height: 900,
    }));
    await signInOperator(page, DEMO_ISSUER_USERNAME, srv.demoPassword!);
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await srv?.close();
  });

  /** Add Device → the printer tile → (Configure) → layout → policy and PIN → Start. */
  const issueWithPrinter = async (configure: boolean, layout = 'PIV (FIPS 201-3)') => {
    await page.getByRole('button', { name: 'Add Device' }).click();
    const dlg = dialogTitled(/Add a device for/);
    await dlg.waitFor();
    await dlg.getByRole('group', { name: 'Card printer' }).waitFor();
    expect(await dlg.getByLabel('Print the card on a card printer').isChecked()).toBe(true);
    if (configure) {
      // Nothing configured yet: choose the printer and its reader, then Configure.
      const printer = dlg.getByLabel('Printer and its reader', { exact: true });
      await expect.poll(() => printer.textContent(), POLL).toContain(DEMO_PRINTER_NAME);
      expect(await printer.textContent()).toContain(ENCODER);
      await dlg.getByRole('button', { name: 'Configure' }).click();
    }
    // Configured: the printer and its reader are shown, the reader a button to change them.
    await dlg
      .getByRole('button', { name: `Encoder ${ENCODER}: change the printer and its reader` })
      .waitFor();
    expect(await dlg.getByLabel('Printer and its reader', { exact: true }).count()).toBe(0);
    expect(await dlg.textContent()).toContain(DEMO_PRINTER_NAME);
    await dlg.getByLabel('Layout').selectOption({ label: layout });
    // The card is the one in the printer's encoder.
    await expect
      .poll(() => dlg.getByRole('radio', { name: new RegExp(ENCODER) }).isChecked(), POLL)
      .toBe(true);
    await dlg.getByLabel('Device Policy').selectOption({ label: 'PIV ECC P-256 (demo)' });
    await dlg.getByLabel('PIN', { exact: true }).fill('739184');
    await expectLabelledControls(page);
    await page.getByRole('button', { name: 'Start' }).click();
    // Encoded, then printed: the print step.
    const step = dialogTitled('Check the printed card');
    await step.waitFor({ timeout: 180_000 });
    const figure = step.getByRole('figure', {
      name: new RegExp(`The card as printed on ${DEMO_PRINTER_NAME}`),
    });
    await expect.poll(() => figure.getAttribute('data-pages'), { ...POLL, timeout: 60_000 }).toBe('2');
    expect(await step.getByRole('img', { name: 'Front of the card' }).count()).toBe(1);
    expect(await step.getByRole('img', { name: 'Back of the card' }).count()).toBe(1);
    expect(await step.textContent()).toMatch(/print job\s*\d+/);
    return step;
  };

  it('configures the printer once, prints alice’s PIV card with her photo, Continue → active with certificates', async () => {
    const layouts = (await admin.json<{ items: { name: string }[] }>('GET', '/api/layouts')).body.items;
    expect(layouts.map((l) => l.name)).toContain('PIV (FIPS 201-3)');
    await openUser('alice', /Alice/);
    await page.getByRole('img', { name: /Photo of Alice/ }).waitFor();
    const step = await issueWithPrinter(true);

    // What the print step shows is drawn from the PDF the printer received: her photo (red) on the front.
    const red = await step.getByRole('img', { name: 'Front of the card' }).evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 150 && d[i + 1]! < 90 && d[i + 2]! < 90) n++;
      return n / (d.length / 4);
    });
    expect(red).toBeGreaterThan(0.02);
    await shoot('01-print-step');
    // At the print step the card is not active yet.
    expect((await devicesOf('alice')).map((d) => d.state)).toEqual(['issuing']);
    const printed = readdirSync(join(srv.rt.config.dataDir, 'printed-cards'));
    expect(printed).toHaveLength(1);

    await step.getByRole('button', { name: 'Continue' }).click();
    await dialogTitled('Device issued').waitFor();
    await dialog().getByRole('button', { name: 'Done' }).click();
    const row = page
      .getByRole('table', { name: 'Devices of this user' })
      .getByRole('row')
      .filter({ hasText: 'Active' });
    await row.waitFor();
    await expect.poll(async () => (await devicesOf('alice')).map((d) => d.state), POLL).toEqual(['active']);
    const certs = page.getByRole('table', { name: /Certificates/ });
    await expect.poll(async () => certs.getByRole('row').count(), POLL).toBeGreaterThan(1);
    await shoot('02-alice-active');
  });

  it('proposes the same printer and reader next time; Cancel leaves bob’s card pending, activated later', async () => {
    await openUser('bob', /Bob/);
    const step = await issueWithPrinter(false);
    await step.getByRole('button', { name: 'Cancel (do not activate)' }).click();
    await dialogTitled('Card not activated: pending').waitFor();
    expect(await dialog().textContent()).toContain('activated or recycled later');
    await dialog().getByRole('button', { name: 'Done' }).click();
    await expect.poll(async () => (await devicesOf('bob')).map((d) => d.state), POLL).toEqual(['pending']);
    await shoot('03-bob-pending');

    // Later: Activate from bob's User page.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: /Bob/ }).waitFor();
    const row = page
      .getByRole('table', { name: 'Devices of this user' })
      .getByRole('row')
      .filter({ hasText: 'Pending' });
    await row.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(async () => (await devicesOf('bob')).map((d) => d.state), POLL).toEqual(['active']);

    // The issuance officer reads layouts (policy.read) but does not change them: the editor is read-only.
    await page.getByRole('link', { name: 'Card layouts' }).click();
    await page.getByRole('button', { name: 'Open PIV (FIPS 201-3)' }).click();
    await page.getByRole('heading', { name: 'Layout “PIV (FIPS 201-3)”' }).waitFor();
    expect(await page.getByRole('button', { name: 'Save layout' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'New layout' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Remove / }).count()).toBe(0);
    expect(await page.getByLabel('front 1F photo x (mm)').isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Show front element 1F photo' }).click();
    const shown = page.getByRole('group', { name: 'Selected element' });
    expect(await shown.getByLabel('Element name').inputValue()).toBe('1F photo');
    expect(await shown.getByLabel('Element name').isDisabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('the layout editor previews both sides live and refuses an element over the chip zone, naming it', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await signInOperator(page, srv.admin.username, srv.admin.password);
    await page.getByRole('link', { name: 'Card layouts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Card layouts' }).waitFor();
    await page.getByRole('button', { name: 'Edit PIV (FIPS 201-3)' }).click();
    const preview = page.getByRole('figure', { name: /Preview of the layout/ });
    await expect.poll(() => preview.getAttribute('data-pages'), { ...POLL, timeout: 60_000 }).toBe('2');
    const save = page.getByRole('button', { name: 'Save layout' });
    expect(await save.isDisabled()).toBe(false);
    // Drawn for alice: her photo (red) is in 1F, where the sample person has an empty frame.
    const front = preview.getByRole('img', { name: 'Front of the card' });
    const red: [number, number, number] = [0xc0, 0x30, 0x20];
    expect(await shareOf(front, red)).toBeLessThan(0.005);
    await page.getByLabel('Preview the card of (username)').fill('alice');
    await page.getByRole('button', { name: 'Show this person’s card' }).click();
    await page.getByText('Drawn for alice.').waitFor();
    await expect.poll(() => shareOf(front, red), { ...POLL, timeout: 60_000 }).toBeGreaterThan(0.02);

    // The photo widened into the chip zone (7F, left clear for the contacts): refused, naming it.
    await page.getByLabel('front 1F photo width (mm)').fill('25');
    const problems = page.getByRole('alert', { name: 'Layout problems' });
    await expect
      .poll(() => problems.textContent(), POLL)
      .toContain('front element "1F photo": it overlaps the chip zone');
    expect(await save.isDisabled()).toBe(true);
    // The server refuses it too, naming the element.
    const layout = (
      await admin.json<{
        items: {
          id: string;
          name: string;
          description: string;
          definition: { front: { elements: { name: string; width: number }[] } };
        }[];
      }>('GET', '/api/layouts')
    ).body.items[0]!;
    const def = structuredClone(layout.definition);
    def.front.elements.find((e) => e.name === '1F photo')!.width = 25;
    const refused = await admin.json<{ error: { message: string } }>('PUT', `/api/layouts/${layout.id}`, {
      name: layout.name,
      description: layout.description,
      definition: def,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('front element "1F photo": it overlaps the chip zone');
    await shoot('04-layout-editor-refused');

    await page.getByLabel('front 1F photo width (mm)').fill('19');
    await expect.poll(() => problems.count(), POLL).toBe(0);
    // The affiliation band (15F): its colour follows the person's affiliation, one colour per value.
    await page.getByRole('button', { name: 'Edit front element 15F affiliation band' }).click();
    const band = page.getByRole('group', { name: 'Selected element' });
    expect(await band.getByLabel('Colour follows a property of the person').isChecked()).toBe(true);
    expect(await band.getByLabel('Property name').inputValue()).toBe('affiliation');
    expect(await band.getByLabel('Colour for “Contractor”', { exact: true }).inputValue()).toMatch(
      /^#[0-9a-f]{6}$/,
    );
    await band.getByLabel('Property name').fill('clearance');
    await expect
      .poll(() => problems.textContent(), POLL)
      .toContain('front element "15F affiliation band": no person has the property "clearance"');
    await band.getByLabel('Property name').fill('affiliation');
    await expect.poll(() => problems.count(), POLL).toBe(0);
    expect(await save.isDisabled()).toBe(false);
    await expectLabelledControls(page);
    expect(pageErrors).toEqual([]);
  });

  it('builds a layout in the editor (a text, a barcode, colours), refused over the chip zone, saved, and prints carol’s card with it', async () => {
    // Layouts are the administrator's (policy.write).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await signInOperator(page, srv.admin.username, srv.admin.password);
    await page.goto('/operator/layouts');
    await page.getByRole('heading', { level: 1, name: 'Card layouts' }).waitFor();
    await page.getByLabel('Start a new layout from').selectOption({ label: 'A blank card, landscape' });
    await page.getByRole('button', { name: 'New layout' }).click();
    await page.getByRole('heading', { name: 'New layout' }).waitFor();
    await page.getByLabel('Layout name').fill('Visitor badge');
    await page.getByLabel('Front background colour').fill('#fff2a8');

    // A text bound to the person's name, big and blue.
    await page.getByLabel('Add to the front').selectOption({ label: 'Text: a person’s field or property' });
    await page.getByRole('button', { name: 'Add to front' }).click();
    const selected = page.getByRole('group', { name: 'Selected element' });
    await selected.getByText('Front element “Text 1” (text)').waitFor();
    expect(await selected.getByLabel('Value from').inputValue()).toBe('person');
    expect(await selected.getByLabel('Person field').inputValue()).toBe('displayName');
    await selected.getByLabel('Font', { exact: true }).selectOption('Helvetica-Bold');
    await selected.getByLabel('Font size (pt)').fill('14');
    await selected.getByLabel('Text colour').fill('#1040c0');
    await page.getByLabel('front Text 1 height (mm)').fill('8');

    // A QR code of the card serial.
    await page.getByLabel('Add to the front').selectOption({ label: 'Barcode (Code 128, QR, PDF417)' });
    await page.getByRole('button', { name: 'Add to front' }).click();
    await selected.getByText('Front element “Barcode 1” (barcode)').waitFor();
    await selected.getByLabel('Symbology').selectOption({ label: 'QR' });
    // Drawn first: the name (drawn later) would cover it where they meet.
    await selected.getByRole('button', { name: 'Draw earlier' }).click();
    expect(await selected.getByRole('button', { name: 'Draw earlier' }).isDisabled()).toBe(true);
    await page.getByLabel('front Barcode 1 width (mm)').fill('20');
    await page.getByLabel('front Barcode 1 height (mm)').fill('20');

    // And the expiry date on the back; one element added by mistake and removed again.
    await page.getByLabel('Add to the back').selectOption({ label: 'Expiry date' });
    await page.getByRole('button', { name: 'Add to back' }).click();
    await page.getByLabel('Add to the back').selectOption({ label: 'Coloured rectangle' });
    await page.getByRole('button', { name: 'Add to back' }).click();
    await page.getByRole('button', { name: 'Remove back element Rectangle 1' }).click();
    expect(await page.getByLabel('back Rectangle 1 x (mm)').count()).toBe(0);

    const preview = page.getByRole('figure', { name: /Preview of the layout “Visitor badge”/ });
    await expect.poll(() => preview.getAttribute('data-pages'), { ...POLL, timeout: 60_000 }).toBe('2');
    const save = page.getByRole('button', { name: 'Save layout' });
    await expect.poll(() => save.isDisabled(), POLL).toBe(false);
    // The live preview draws the draft: the front in its new colour, the name in blue.
    const previewFront = preview.getByRole('img', { name: 'Front of the card' });
    await expect
      .poll(() => shareOf(previewFront, [0xff, 0xf2, 0xa8]), { ...POLL, timeout: 60_000 })
      .toBeGreaterThan(0.5);
    expect(await shareOf(previewFront, [0x10, 0x40, 0xc0])).toBeGreaterThan(0.001);
    await shoot('05-layout-editor-new');

    // The name moved over the chip: refused, naming it; moved back, accepted.
    await page.getByLabel('front Text 1 x (mm)').fill('12');
    await page.getByLabel('front Text 1 y (mm)').fill('20');
    const problems = page.getByRole('alert', { name: 'Layout problems' });
    await expect
      .poll(() => problems.textContent(), POLL)
      .toContain('front element "Text 1": it overlaps the chip zone');
    expect(await save.isDisabled()).toBe(true);
    await shoot('06-layout-editor-new-refused');
    await page.getByLabel('front Text 1 x (mm)').fill('28');
    await page.getByLabel('front Text 1 y (mm)').fill('40');
    await expect.poll(() => problems.count(), POLL).toBe(0);
    await expectLabelledControls(page);
    await save.click();
    await page.getByRole('status').filter({ hasText: 'Layout “Visitor badge” saved.' }).waitFor();
    await page.getByRole('heading', { name: 'Edit “Visitor badge”' }).waitFor();
    await shoot('07-layout-editor-saved');

    const saved = (
      await admin.json<{ items: { name: string; definition: Record<string, unknown> }[] }>(
        'GET',
        '/api/layouts',
      )
    ).body.items.find((l) => l.name === 'Visitor badge')!;
    expect(saved.definition).toMatchObject({
      orientation: 'landscape',
      front: {
        background: '#fff2a8',
        elements: [
          { kind: 'barcode', name: 'Barcode 1', symbology: 'qr', value: { from: 'card', field: 'serial' } },
          {
            kind: 'text',
            name: 'Text 1',
            x: 28,
            y: 40,
            font: 'Helvetica-Bold',
            size: 14,
            color: '#1040c0',
            value: { from: 'person', field: 'displayName' },
          },
        ],
      },
      back: { elements: [{ kind: 'text', name: 'Expiry date 1', value: { from: 'card', field: 'expiry' } }] },
    });

    // Carol's card issued and printed with it: the print step shows her card in the new colours.
    await openUser('carol', /Carol/);
    const step = await issueWithPrinter(true, 'Visitor badge');
    const front = step.getByRole('img', { name: 'Front of the card' });
    expect(await shareOf(front, [0xff, 0xf2, 0xa8])).toBeGreaterThan(0.5);
    expect(await shareOf(front, [0x10, 0x40, 0xc0])).toBeGreaterThan(0.001);
    await shoot('08-visitor-badge-print-step');
    await step.getByRole('button', { name: 'Continue' }).click();
    await dialogTitled('Device issued').waitFor();
    await dialog().getByRole('button', { name: 'Done' }).click();
    await expect.poll(async () => (await devicesOf('carol')).map((d) => d.state), POLL).toEqual(['active']);
    expect(pageErrors).toEqual([]);
  });

  it('a replacement printed and held back stays its request’s: activated from the User page, the request completes', async () => {
    // The help desk asked for a replacement of alice's card (damaged); the issuance officer prints it.
    const original = (await devicesOf('alice')).find((d) => d.state === 'active')!;
    const req = await admin.json<{ id: string; number: number }>(
      'POST',
      `/api/devices/${original.id}/replacement`,
      { reason: 'damaged', workflow: 'local_issuance' },
    );
    expect(req.status, JSON.stringify(req.body)).toBe(201);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await signInOperator(page, DEMO_ISSUER_USERNAME, srv.demoPassword!);
    await page.goto(`/operator/requests/${req.body.id}`);
    await page.getByRole('button', { name: 'Issue replacement' }).click();
    const dlg = dialogTitled(/Issue the replacement for Alice/);
    await dlg.waitFor();
    await dlg
      .getByRole('button', { name: `Encoder ${ENCODER}: change the printer and its reader` })
      .waitFor();
    await dlg.getByLabel('Layout').selectOption({ label: 'PIV (FIPS 201-3)' });
    await expect
      .poll(() => dlg.getByRole('radio', { name: new RegExp(ENCODER) }).isChecked(), POLL)
      .toBe(true);
    await dlg.getByLabel('PIN', { exact: true }).fill('739184');
    await page.getByRole('button', { name: 'Start' }).click();
    const step = dialogTitled('Check the printed card');
    await step.waitFor({ timeout: 180_000 });
    await step.getByRole('button', { name: 'Cancel (do not activate)' }).click();
    await dialogTitled('Card not activated: pending').waitFor();
    await dialog().getByRole('button', { name: 'Done' }).click();

    // Not lost: the request waits for the pending card's activation, and the User page says so.
    const request = async () =>
      (await admin.json<{ state: string; waitingFor: string | null }>('GET', `/api/requests/${req.body.id}`))
        .body;
    expect(await request()).toMatchObject({ state: 'approved', waitingFor: 'activation' });
    await openUser('alice', /Alice/);
    const row = page
      .getByRole('table', { name: 'Devices of this user' })
      .getByRole('row')
      .filter({ hasText: 'Pending' });
    await expect
      .poll(() => row.textContent(), POLL)
      .toContain(`Printed for request #${req.body.number}: activating it completes the request`);
    await shoot('09-replacement-pending');
    await row.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(async () => (await request()).state, POLL).toBe('completed');
    const states = Object.fromEntries((await devicesOf('alice')).map((d) => [d.id, d.state]));
    expect(states[original.id]).toBe('terminated');
    expect(Object.values(states).filter((s) => s === 'active')).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });
});
