// The card renderer, checked on its output as a printer would see it: the PDF rasterized by
// poppler's pdftoppm, barcodes read back by zbarimg, page sizes read by pdfinfo.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CardData, LayoutDefinition } from '../../src/domain/card-layout.js';
import { PIV_LAYOUT } from '../../src/domain/piv-layout.js';
import { renderCard, RenderError } from '../../src/print/card-renderer.js';
import { makeJpeg, rasterize, readBarcodes, type Raster } from '../support/images.js';

const DPI = 150;
const px = (mm: number) => Math.round((mm / 25.4) * DPI);
const data = (affiliation: string): CardData => ({
  person: {
    displayName: 'Alice Archer',
    username: 'alice',
    email: 'alice@example.test',
    properties: { affiliation },
  },
  card: {
    serial: 'TSR-0001-7F3A9C',
    expiresAt: '2027-12-06T00:00:00.000Z',
    issuedAt: null,
    issuer: 'Tessera Demo Agency',
  },
});
const near = (r: Raster, xMm: number, yMm: number, rgb: [number, number, number], tol = 40) => {
  const got = r.at(px(xMm), px(yMm));
  return got.every((c, i) => Math.abs(c - rgb[i]!) <= tol) ? true : got;
};

function pdfinfo(pdf: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pdfinfo-'));
  try {
    writeFileSync(join(dir, 'c.pdf'), pdf);
    return execFileSync('pdfinfo', ['-f', '1', '-l', '2', join(dir, 'c.pdf')]).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let photo: Buffer;
beforeAll(async () => {
  photo = await makeJpeg(300, 400, '#C03020');
});

describe('card renderer', () => {
  it('draws the PIV layout at ID-1 size: photo in 1F, the contractor band in 15F, both sides', async () => {
    const pdf = await renderCard({ layout: PIV_LAYOUT, data: data('Contractor'), photo });
    const info = pdfinfo(pdf);
    expect(info).toMatch(/Pages:\s+2/);
    // 53.98 × 85.60 mm = 153.01 × 242.65 pt (portrait).
    expect(info).toMatch(/Page\s+1 size:\s+153\.0\d* x 242\.6\d* pts/);
    const [front, back] = rasterize(pdf, DPI);
    expect(front!.width).toBe(px(53.98));
    expect(near(front!, 12, 15, [0xc0, 0x30, 0x20])).toBe(true); // the photo's red
    expect(near(front!, 27, 76, [0x00, 0xa6, 0x51])).toBe(true); // green band: contractor
    expect(near(front!, 30, 20, [255, 255, 255], 5)).toBe(true); // the chip zone stays blank
    expect(back).toBeDefined();
    // The back's Code 128 carries the card serial, readable by a scanner.
    expect(readBarcodes(pdf, 2)).toEqual(['CODE-128:TSR-0001-7F3A9C']);
  });

  it('an employee gets a white band; no photo leaves an empty frame', async () => {
    const pdf = await renderCard({
      layout: PIV_LAYOUT,
      data: data('Employee'),
      photo: null,
      sides: ['front'],
    });
    const [front, back] = rasterize(pdf, DPI);
    expect(back).toBeUndefined();
    expect(near(front!, 27, 76, [255, 255, 255], 5)).toBe(true);
    expect(near(front!, 12, 15, [255, 255, 255], 5)).toBe(true);
  });

  it('renders QR codes and PDF417 that carry their values', async () => {
    const layout: LayoutDefinition = {
      orientation: 'landscape',
      front: {
        background: '#FFFFFF',
        elements: [
          {
            kind: 'barcode',
            name: 'qr',
            x: 40,
            y: 5,
            width: 30,
            height: 30,
            symbology: 'qr',
            value: { from: 'person', field: 'email' },
            color: '#000000',
          },
        ],
      },
      back: {
        background: '#FFFFFF',
        elements: [
          {
            kind: 'barcode',
            name: 'pdf',
            x: 5,
            y: 5,
            width: 75,
            height: 25,
            symbology: 'pdf417',
            value: { from: 'card', field: 'serial' },
            color: '#000000',
          },
        ],
      },
    };
    const pdf = await renderCard({ layout, data: data('Employee'), photo: null });
    expect(readBarcodes(pdf, 1)).toEqual(['QR-Code:alice@example.test']);
    // PDF417: zbar reads it where it was built with its PDF417 decoder; otherwise the symbol's
    // start pattern (8 dark modules, then 1 light…) must be where the element is.
    const pdf417 = readBarcodes(pdf, 2);
    if (pdf417.length) expect(pdf417).toEqual(['PDF417:TSR-0001-7F3A9C']);
    const [, back] = rasterize(pdf, DPI);
    let dark = 0;
    for (let y = px(5); y < px(30); y++)
      for (let x = px(5); x < px(80); x++) if (back!.at(x, y)[0] < 100) dark++;
    expect(dark / ((px(30) - px(5)) * (px(80) - px(5)))).toBeGreaterThan(0.3);
  });

  it('renders the same bytes for the same card (what was previewed is what prints)', async () => {
    const a = await renderCard({ layout: PIV_LAYOUT, data: data('Contractor'), photo });
    const b = await renderCard({ layout: PIV_LAYOUT, data: data('Contractor'), photo });
    expect(a.equals(b)).toBe(true);
    const c = await renderCard({ layout: PIV_LAYOUT, data: data('Employee'), photo });
    expect(a.equals(c)).toBe(false);
  });

  it('a value a barcode cannot hold or a broken image is a RenderError naming the element', async () => {
    const layout: LayoutDefinition = {
      ...PIV_LAYOUT,
      back: {
        background: '#FFFFFF',
        elements: [
          // More than a QR code can hold (2953 bytes at its largest).
          {
            kind: 'barcode',
            name: 'serial barcode',
            x: 5,
            y: 5,
            width: 40,
            height: 40,
            symbology: 'qr',
            value: { from: 'fixed', text: 'x'.repeat(8000) },
            color: '#000000',
          },
        ],
      },
    };
    await expect(renderCard({ layout, data: data('Employee'), photo: null })).rejects.toThrow(RenderError);
    await expect(renderCard({ layout, data: data('Employee'), photo: null })).rejects.toThrow(
      /back element "serial barcode" cannot be drawn/,
    );
    await expect(
      renderCard({ layout: PIV_LAYOUT, data: data('Employee'), photo: Buffer.from('not an image at all') }),
    ).rejects.toThrow(/front element "1F photo" cannot be drawn/);
  });
});
