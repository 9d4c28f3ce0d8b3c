// Barcodes as dark modules, for the card renderer to draw as vector rectangles (sharp at any printer
// resolution). bwip-js encodes them; we only take its bar and module pattern, never its pictures.
import bwipjs from 'bwip-js';
import type { BarcodeSymbology } from '../domain/card-layout.js';
import { ValidationError } from '../domain/errors.js';

/** One dark rectangle in module units (x, y from the top-left of the symbol). */
export interface Module {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface BarcodePattern {
  /** Symbol size in modules. */
  width: number;
  height: number;
  /** Whether the symbol must keep its aspect ratio (QR does; bars and PDF417 rows may stretch). */
  square: boolean;
  modules: Module[];
}

const BCID: Record<BarcodeSymbology, string> = { code128: 'code128', qr: 'qrcode', pdf417: 'pdf417' };

type Linear = { sbs: number[] };
type Matrix = { pixs: number[]; pixx: number };

export function barcodePattern(symbology: BarcodeSymbology, text: string): BarcodePattern {
  let raw: (Linear | Matrix)[];
  try {
    raw = bwipjs.raw(BCID[symbology], text, {}) as (Linear | Matrix)[];
  } catch (e) {
    throw new ValidationError(
      `The ${symbology} barcode cannot encode "${text.slice(0, 40)}": ${String((e as Error).message ?? e).replace(/^bwipp\.\w+#?\d*:\s*/, '')}`,
    );
  }
  const first = raw[0]!;
  if ('sbs' in first) {
    // Alternating bar and space widths, starting with a bar.
    const modules: Module[] = [];
    let x = 0;
    first.sbs.forEach((w, i) => {
      if (i % 2 === 0) modules.push({ x, y: 0, w, h: 1 });
      x += w;
    });
    return { width: x, height: 1, square: false, modules };
  }
  const { pixs, pixx } = first;
  const rows = Math.round(pixs.length / pixx);
  const modules: Module[] = [];
  for (let y = 0; y < rows; y++) {
    // One rectangle per horizontal run of dark modules: far fewer PDF operators than one per module.
    let x = 0;
    while (x < pixx) {
      if (pixs[y * pixx + x]) {
        const start = x;
        while (x < pixx && pixs[y * pixx + x]) x++;
        modules.push({ x: start, y, w: x - start, h: 1 });
      } else x++;
    }
  }
  return { width: pixx, height: rows, square: symbology === 'qr', modules };
}
