import { describe, expect, it } from '@jest/globals';
import { RuntimeError } from '../errors.js';
import { gradientPng } from './generated-image.js';
import { imageHeader, MAX_IMAGE_PIXELS, parseImageUrl } from './image-input.js';

const dataUrl = (bytes: Uint8Array, type = 'image/png') =>
  `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;

function refusal(url: unknown): RuntimeError {
  try {
    parseImageUrl(url, 'messages[0].content[1]');
  } catch (error) {
    if (error instanceof RuntimeError) return error;
    throw error;
  }
  throw new Error('expected a RuntimeError');
}

// A PNG whose header says `width`×`height`: only the header is read, so no
// pixels need to exist behind it.
function pngClaiming(width: number, height: number): Buffer {
  const png = gradientPng(4);
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  return png;
}

// Baseline JPEG: SOI, an APP0 segment to skip, then SOF0 with height 48 and width 64.
const jpeg = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x06, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x30, 0x00,
  0x40, 0x03,
]);

describe('imageHeader', () => {
  it('reads the size of PNG, JPEG, GIF, BMP and PNM images from their headers', () => {
    expect(imageHeader(gradientPng(12))).toEqual({ format: 'png', width: 12, height: 12 });
    expect(imageHeader(jpeg)).toEqual({ format: 'jpeg', width: 64, height: 48 });
    const gif = Buffer.from('GIF89a\x20\x00\x10\x00', 'latin1');
    expect(imageHeader(gif)).toEqual({ format: 'gif', width: 32, height: 16 });
    const bmp = Buffer.alloc(26);
    bmp.write('BM', 0, 'latin1');
    bmp.writeInt32LE(40, 14);
    bmp.writeInt32LE(7, 18);
    bmp.writeInt32LE(-5, 22);
    expect(imageHeader(bmp)).toEqual({ format: 'bmp', width: 7, height: 5 });
    expect(imageHeader(Buffer.from('P6\n# a comment\n640 480\n255\n', 'latin1'))).toEqual({
      format: 'pnm',
      width: 640,
      height: 480,
    });
  });

  it('knows nothing of text, or of a header cut short', () => {
    expect(imageHeader(Buffer.from('hello, world', 'latin1'))).toBeUndefined();
    expect(imageHeader(gradientPng(4).subarray(0, 20))).toBeUndefined();
    expect(imageHeader(jpeg.subarray(0, 12))).toBeUndefined();
  });
});

describe('parseImageUrl', () => {
  it('returns a data URL image as sent, with its format and size', () => {
    const url = dataUrl(gradientPng(32));
    expect(parseImageUrl(url, 'image')).toEqual({
      url,
      format: 'png',
      width: 32,
      height: 32,
      bytes: gradientPng(32).length,
    });
    expect(parseImageUrl(dataUrl(jpeg, 'image/jpeg'), 'image')).toMatchObject({ format: 'jpeg', width: 64 });
  });

  it('refuses bytes that are not an image, naming the part and showing the first bytes', () => {
    const error = refusal(dataUrl(Buffer.from('just some text'), 'image/png'));
    expect(error.code).toBe('REQUEST_INVALID');
    expect(error.message).toBe(
      'messages[0].content[1] is not an image llama.cpp can decode (PNG, JPEG, GIF, BMP or PNM): its first bytes are 6a 75 73 74 20 73 6f 6d.',
    );
    expect(error.details).toEqual({ param: 'messages[0].content[1]' });
  });

  it('names a format llama.cpp cannot decode', () => {
    const webp = Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1');
    expect(refusal(dataUrl(webp, 'image/webp')).message).toBe(
      'messages[0].content[1] is WebP, which llama.cpp cannot decode; send PNG, JPEG, GIF, BMP or PNM.',
    );
  });

  it('refuses huge dimensions from the header, before any pixel is decoded', () => {
    expect(refusal(dataUrl(pngClaiming(60_000, 60_000))).message).toBe(
      `messages[0].content[1] is 60000×60000 pixels; images may have at most ${MAX_IMAGE_PIXELS} pixels (an 8K frame) and 16384 on a side. Scale it down before sending it.`,
    );
    expect(refusal(dataUrl(pngClaiming(20_000, 10))).message).toContain('is 20000×10 pixels');
    expect(refusal(dataUrl(pngClaiming(0, 10))).message).toBe(
      'messages[0].content[1] says it is 0×10 pixels: it is empty.',
    );
  });

  it('refuses base64 with a stray character, a cut length, or nothing at all', () => {
    expect(refusal('data:image/png;base64,iVBO*w0K').message).toBe(
      'messages[0].content[1].image_url.url is not valid base64: it holds "*" at character 4.',
    );
    expect(refusal('data:image/png;base64,iVBORw0').message).toContain(
      'its length (7) is not a multiple of 4, or its padding is misplaced',
    );
    expect(refusal('data:image/png;base64,').message).toContain('is not valid base64: it is empty.');
  });

  it('fetches no URL and takes no data URL that is not base64 image data', () => {
    expect(refusal('https://example.com/cat.png').message).toBe(
      'messages[0].content[1].image_url.url is a https URL; this server takes images inline only, as data:image/png;base64,... (it fetches nothing).',
    );
    expect(refusal('data:text/plain;base64,aGVsbG8=').message).toContain(
      'must be a base64 data URL of an image (data:image/png;base64,...); it starts "data:text/plain;base64,a',
    );
    expect(refusal(undefined).message).toBe(
      'messages[0].content[1].image_url.url must be a data URL such as data:image/png;base64,...',
    );
  });
});
