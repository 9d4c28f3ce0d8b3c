// Real image files for printing tests and the print benchmark: a PNG encoded here (zlib, no
// library), a JPEG made by poppler's pdftoppm from a PDF page, and rasters of PDFs (pdftoppm) to
// compare pixels.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import PDFDocument from 'pdfkit';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Buffer) => {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type: string, data: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};

/** An RGB PNG filled by `pixel(x, y)` → [r, g, b]. */
export function makePng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      const o = y * (width * 3 + 1) + 1 + x * 3;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A solid-colour JPEG of about width × height pixels (pdftoppm renders a one-colour page). */
export async function makeJpeg(width: number, height: number, color = '#C03020'): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-jpeg-'));
  try {
    const doc = new PDFDocument({ size: [width, height], margin: 0 });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((r) => doc.on('end', () => r()));
    doc.rect(0, 0, width, height).fill(color);
    doc.end();
    await done;
    writeFileSync(join(dir, 'p.pdf'), Buffer.concat(chunks));
    execFileSync('pdftoppm', ['-jpeg', '-r', '72', '-singlefile', join(dir, 'p.pdf'), join(dir, 'p')]);
    return readFileSync(join(dir, 'p.jpg'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Raster {
  width: number;
  height: number;
  /** RGB, row by row. */
  rgb: Buffer;
  at(x: number, y: number): [number, number, number];
}

/** Each page of a PDF as an RGB raster at `dpi` (pdftoppm, PPM output). */
export function rasterize(pdf: Buffer, dpi = 150): Raster[] {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-raster-'));
  try {
    writeFileSync(join(dir, 'in.pdf'), pdf);
    execFileSync('pdftoppm', ['-r', String(dpi), join(dir, 'in.pdf'), join(dir, 'page')]);
    const pages = execFileSync('ls', [dir])
      .toString()
      .split('\n')
      .filter((f) => f.endsWith('.ppm'))
      .sort();
    return pages.map((f) => parsePpm(readFileSync(join(dir, f))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parsePpm(b: Buffer): Raster {
  // "P6\n<w> <h>\n255\n" then RGB bytes.
  const header: string[] = [];
  let i = 0;
  while (header.length < 4) {
    while (/\s/.test(String.fromCharCode(b[i]!))) i++;
    let tok = '';
    while (!/\s/.test(String.fromCharCode(b[i]!))) tok += String.fromCharCode(b[i++]!);
    header.push(tok);
  }
  i++;
  const width = Number(header[1]);
  const height = Number(header[2]);
  const rgb = b.subarray(i, i + width * height * 3);
  return {
    width,
    height,
    rgb,
    at: (x, y) => {
      const o = (y * width + x) * 3;
      return [rgb[o]!, rgb[o + 1]!, rgb[o + 2]!];
    },
  };
}

/** The share of pixels (0..1) whose channels differ by more than `tolerance` between two rasters. */
export function pixelDifference(a: Raster, b: Raster, tolerance = 32): number {
  if (a.width !== b.width || a.height !== b.height) return 1;
  let differ = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    const o = p * 3;
    if (
      Math.abs(a.rgb[o]! - b.rgb[o]!) > tolerance ||
      Math.abs(a.rgb[o + 1]! - b.rgb[o + 1]!) > tolerance ||
      Math.abs(a.rgb[o + 2]! - b.rgb[o + 2]!) > tolerance
    )
      differ++;
  }
  return differ / (a.width * a.height);
}

/** Barcodes zbarimg reads in a PNG rendering of a PDF page ("CODE-128:…", "QR-Code:…"). */
export function readBarcodes(pdf: Buffer, page: number, dpi = 300): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-zbar-'));
  try {
    writeFileSync(join(dir, 'in.pdf'), pdf);
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      String(dpi),
      '-f',
      String(page),
      '-l',
      String(page),
      '-singlefile',
      join(dir, 'in.pdf'),
      join(dir, 'p'),
    ]);
    try {
      return execFileSync('zbarimg', ['-q', join(dir, 'p.png')])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean);
    } catch {
      return []; // zbarimg exits 4 when it finds nothing
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
