// The one card renderer: a layout and a card's data become a PDF at card size, one page per side.
// The preview the operator sees and the job the printer receives are both this function's output,
// so what is printed is what was shown. The PDF is deterministic (fixed creation date and ID), so
// the same card renders to the same bytes.
import PDFDocument from 'pdfkit';
import {
  cardSize,
  rectColor,
  resolveValue,
  type CardData,
  type CardSide,
  type LayoutDefinition,
  type LayoutElement,
} from '../domain/card-layout.js';
import { DomainError } from '../domain/errors.js';
import { barcodePattern } from './barcodes.js';

const PT_PER_MM = 72 / 25.4;
const pt = (mm: number) => mm * PT_PER_MM;

/** A layout that cannot be drawn for this card (a bad image, a value a barcode cannot hold). */
export class RenderError extends DomainError {
  constructor(side: CardSide, element: string, reason: string) {
    super('render_failed', `The ${side} element "${element}" cannot be drawn: ${reason}`, { side, element });
  }
}

export interface RenderInput {
  layout: LayoutDefinition;
  data: CardData;
  /** The person's photo (JPEG or PNG), or null: the photo element then shows an empty frame. */
  photo: Uint8Array | null;
  /** Which sides, in order (both by default). */
  sides?: readonly CardSide[];
  title?: string;
}

// pdfkit stamps the time and a random ID otherwise; a fixed date keeps renders reproducible.
const FIXED_DATE = new Date(Date.UTC(2000, 0, 1));

export function renderCard(input: RenderInput): Promise<Buffer> {
  const { layout, data } = input;
  const sides = input.sides ?? (['front', 'back'] as const);
  const size = cardSize(layout.orientation);
  const doc = new PDFDocument({
    size: [pt(size.width), pt(size.height)],
    margin: 0,
    autoFirstPage: false,
    info: { Title: input.title ?? 'Card', Producer: 'Tessera', Creator: 'Tessera', CreationDate: FIXED_DATE },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  try {
    for (const side of sides) {
      doc.addPage({ size: [pt(size.width), pt(size.height)], margin: 0 });
      const s = layout[side];
      doc.rect(0, 0, pt(size.width), pt(size.height)).fill(s.background);
      for (const e of s.elements) drawElement(doc, side, e, data, input.photo);
    }
  } catch (e) {
    doc.end();
    return done.then(() => Promise.reject(e as Error));
  }
  doc.end();
  return done;
}

function drawElement(
  doc: PDFKit.PDFDocument,
  side: CardSide,
  e: LayoutElement,
  data: CardData,
  photo: Uint8Array | null,
): void {
  const x = pt(e.x);
  const y = pt(e.y);
  const w = pt(e.width);
  const h = pt(e.height);
  switch (e.kind) {
    case 'rect':
      doc.rect(x, y, w, h).fill(rectColor(e, data));
      return;
    case 'text': {
      let text = resolveValue(e.value, data);
      if (e.uppercase) text = text.toUpperCase();
      if (!text) return;
      doc
        .font(e.font)
        .fontSize(e.size)
        .fillColor(e.color)
        .text(text, x, y, { width: w, height: h, align: e.align, lineBreak: true, ellipsis: true });
      return;
    }
    case 'photo':
      if (photo) image(doc, side, e.name, Buffer.from(photo), x, y, w, h);
      else doc.save().lineWidth(0.5).strokeColor('#999999').rect(x, y, w, h).stroke().restore();
      return;
    case 'image':
      // An image whose picture is not chosen yet (an editor's draft) draws nothing, like a missing photo.
      if (e.data) image(doc, side, e.name, Buffer.from(e.data, 'base64'), x, y, w, h);
      return;
    case 'barcode': {
      const text = resolveValue(e.value, data);
      if (!text) return;
      let p;
      try {
        p = barcodePattern(e.symbology, text);
      } catch (err) {
        throw new RenderError(side, e.name, (err as Error).message);
      }
      let sx = w / p.width;
      let sy = h / p.height;
      let ox = x;
      let oy = y;
      if (p.square) {
        const s = Math.min(sx, sy);
        ox += (w - s * p.width) / 2;
        oy += (h - s * p.height) / 2;
        sx = sy = s;
      }
      doc.fillColor(e.color);
      for (const m of p.modules) doc.rect(ox + m.x * sx, oy + m.y * sy, m.w * sx, m.h * sy);
      doc.fill();
      return;
    }
  }
}

function image(
  doc: PDFKit.PDFDocument,
  side: CardSide,
  name: string,
  bytes: Buffer,
  x: number,
  y: number,
  w: number,
  h: number,
): void {
  try {
    doc.image(bytes, x, y, { fit: [w, h], align: 'center', valign: 'center' });
  } catch (err) {
    throw new RenderError(side, name, `the image is not a readable JPEG or PNG (${(err as Error).message})`);
  }
}
