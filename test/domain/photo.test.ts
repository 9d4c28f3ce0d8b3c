// Photos are taken only as real JPEG or PNG files of a sensible size, whatever they claim to be.
import { describe, expect, it } from 'vitest';
import { checkPhoto, PHOTO_MAX_BYTES } from '../../src/domain/photo.js';
import { makeJpeg, makePng } from '../support/images.js';

describe('photos', () => {
  it('reads the kind and size of a PNG and a JPEG from their headers', async () => {
    expect(checkPhoto(makePng(60, 80, () => [1, 2, 3]))).toEqual({
      contentType: 'image/png',
      width: 60,
      height: 80,
    });
    const jpeg = await makeJpeg(120, 160);
    expect(checkPhoto(jpeg)).toEqual({ contentType: 'image/jpeg', width: 120, height: 160 });
  });

  it('refuses what is not an image, a cut-off header, tiny and oversized pictures', async () => {
    expect(() => checkPhoto(new Uint8Array())).toThrow(/empty/);
    expect(() => checkPhoto(Buffer.from('GIF89a not accepted'))).toThrow(/JPEG or PNG/);
    expect(() => checkPhoto(Buffer.from('%PDF-1.7\n'))).toThrow(/JPEG or PNG/);
    const jpeg = await makeJpeg(120, 160);
    expect(() => checkPhoto(jpeg.subarray(0, 20))).toThrow(/JPEG or PNG/);
    expect(() => checkPhoto(makePng(8, 8, () => [0, 0, 0]))).toThrow(/8 × 8 pixels/);
    const big = Buffer.concat([makePng(40, 40, () => [0, 0, 0]), Buffer.alloc(PHOTO_MAX_BYTES)]);
    expect(() => checkPhoto(big)).toThrow(/at most 512 KiB/);
  });
});
