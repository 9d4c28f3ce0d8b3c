// A person's photo as Tessera accepts it: a JPEG or PNG, read far enough to know its kind and size,
// before it is stored or drawn. The file's own header decides, never the name or a declared type.
import { ValidationError } from './errors.js';

export const PHOTO_MAX_BYTES = 512 * 1024;
export const PHOTO_MAX_SIDE = 4096;
export const PHOTO_MIN_SIDE = 32;

export type PhotoType = 'image/jpeg' | 'image/png';

export interface PhotoInfo {
  contentType: PhotoType;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngInfo(b: Uint8Array): PhotoInfo | null {
  if (b.length < 33 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) return null;
  // The first chunk must be IHDR: width and height are its first two 32-bit fields.
  if (String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { contentType: 'image/png', width: v.getUint32(16), height: v.getUint32(20) };
}

function jpegInfo(b: Uint8Array): PhotoInfo | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) return null;
  // Walk the markers to the first start-of-frame (SOF0..SOF15 but DHT, JPG and DAC).
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = (b[i + 5]! << 8) | b[i + 6]!;
      const width = (b[i + 7]! << 8) | b[i + 8]!;
      return { contentType: 'image/jpeg', width, height };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data before any frame header
    i += 2 + len;
  }
  return null;
}

/** The photo's kind and size, or a ValidationError saying what is wrong with it. */
export function checkPhoto(bytes: Uint8Array): PhotoInfo {
  if (bytes.length === 0) throw new ValidationError('The photo is empty');
  if (bytes.length > PHOTO_MAX_BYTES)
    throw new ValidationError(
      `The photo is ${Math.ceil(bytes.length / 1024)} KiB; at most ${PHOTO_MAX_BYTES / 1024} KiB is accepted (a card photo needs about 600 × 800 pixels)`,
    );
  const info = pngInfo(bytes) ?? jpegInfo(bytes);
  if (!info)
    throw new ValidationError('The photo must be a JPEG or PNG image (the file is neither, or is damaged)');
  const { width, height } = info;
  if (width < PHOTO_MIN_SIDE || height < PHOTO_MIN_SIDE || width > PHOTO_MAX_SIDE || height > PHOTO_MAX_SIDE)
    throw new ValidationError(
      `The photo is ${width} × ${height} pixels; each side must be ${PHOTO_MIN_SIDE}-${PHOTO_MAX_SIDE} pixels`,
    );
  return info;
}
