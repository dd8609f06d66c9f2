import { RuntimeError } from '../errors.js';

// Limits on the images a request may carry. llama.cpp decodes an image to
// 3 bytes a pixel (stb_image, tools/mtmd/mtmd-helper.cpp) before its
// projector scales it down, so a few hundred bytes of PNG that declare
// 60000×60000 pixels would make the server allocate 10 GB: the limits are
// checked on the header, before any pixel is decoded.

/** Pixels an image may have: an 8K frame (7680×4320) is 33 MP, 100 MB decoded. */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Pixels an image may have on one side; panoramas beyond this are scaled down first. */
export const MAX_IMAGE_SIDE = 16_384;
/** Images one request may carry: each is encoded through the projector, seconds apiece on a CPU. */
export const MAX_IMAGES_PER_REQUEST = 8;

/** The image formats llama.cpp decodes (stb_image): the common ones, told apart by their first bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'pnm';

/** An image from a request, checked: its data URL as sent, what it is, and its size. */
export interface ImageInput {
  /** The `data:image/...;base64,...` URL, passed on as it came. */
  url: string;
  format: ImageFormat;
  width: number;
  height: number;
  /** Decoded bytes. */
  bytes: number;
}

function invalid(message: string, param: string): RuntimeError {
  return new RuntimeError('REQUEST_INVALID', message, { details: { param } });
}

const u16be = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u32be = (b: Uint8Array, at: number) =>
  ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const i32le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);

// JPEG: the frame header (an SOFn marker) holds height and width; markers
// before it are skipped by their lengths (ITU T.81, B.2). Markers without a
// length (RSTn, SOI, TEM) and fill bytes are stepped over.
function jpegSize(b: Uint8Array): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    const length = u16be(b, at + 2);
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) return at + 9 <= b.length ? { height: u16be(b, at + 5), width: u16be(b, at + 7) } : undefined;
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

// Netpbm P1-P6: magic, then width and height as decimal text, with
// whitespace and # comments between (netpbm's pnm(5)).
function pnmSize(b: Uint8Array): { width: number; height: number } | undefined {
  const head = Buffer.from(b.subarray(0, 512)).toString('latin1');
  const match = /^P[1-6](?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)/.exec(head);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/**
 * The format and size of an image from its first bytes, without decoding
 * it: PNG's IHDR, JPEG's frame header, GIF's screen descriptor, BMP's info
 * header, a Netpbm header. Undefined for anything else (or a header cut
 * short).
 *
 * @example
 * imageHeader(pngBytes); // { format: 'png', width: 32, height: 32 }
 */
export function imageHeader(
  b: Uint8Array,
): { format: ImageFormat; width: number; height: number } | undefined {
  if (
    b.length >= 24 &&
    u32be(b, 0) === 0x89504e47 &&
    u32be(b, 4) === 0x0d0a1a0a &&
    u32be(b, 12) === 0x49484452
  )
    return { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    const size = jpegSize(b);
    return size && { format: 'jpeg', ...size };
  }
  if (b.length >= 10 && /^GIF8[79]a$/.test(Buffer.from(b.subarray(0, 6)).toString('latin1')))
    return { format: 'gif', width: u16le(b, 6), height: u16le(b, 8) };
  // BITMAPINFOHEADER and its successors: a negative height means top-down rows.
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d && i32le(b, 14) >= 40)
    return { format: 'bmp', width: Math.abs(i32le(b, 18)), height: Math.abs(i32le(b, 22)) };
  if (b.length >= 3 && b[0] === 0x50 && b[1] >= 0x31 && b[1] <= 0x36) {
    const size = pnmSize(b);
    return size && { format: 'pnm', ...size };
  }
  return undefined;
}

// Formats people send that llama.cpp cannot read, by their magic bytes.
function knownUnsupported(b: Uint8Array): string | undefined {
  const ascii = Buffer.from(b.subarray(0, 12)).toString('latin1');
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'WebP';
  if (ascii.slice(4, 12) === 'ftypavif' || ascii.slice(4, 12) === 'ftypheic') return 'AVIF/HEIF';
  if (ascii.startsWith('II*\0') || ascii.startsWith('MM\0*')) return 'TIFF';
  if (/^\s*<(\?xml|svg)/i.test(ascii)) return 'SVG';
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:(image\/[A-Za-z0-9.+-]+)((?:;[A-Za-z0-9=._-]+)*);base64,/;

/**
 * Checks an OpenAI `image_url` part's URL and returns the image: a data URL
 * (`data:image/png;base64,...`) with strict base64 that decodes to a PNG,
 * JPEG, GIF, BMP or PNM image within MAX_IMAGE_PIXELS and MAX_IMAGE_SIDE.
 * Anything else throws a REQUEST_INVALID naming `param`: the server fetches
 * no URLs, and llama.cpp gets no bytes it would have to guess at.
 *
 * @example
 * const image = parseImageUrl(`data:image/png;base64,${png.toString('base64')}`, 'messages[0].content[1]');
 * console.log(image.width, image.height);
 */
export function parseImageUrl(url: unknown, param: string): ImageInput {
  if (typeof url !== 'string' || url.length === 0)
    throw invalid(`${param}.image_url.url must be a data URL such as data:image/png;base64,...`, param);
  if (/^(https?|file):/i.test(url)) {
    throw invalid(
      `${param}.image_url.url is a ${url.slice(0, url.indexOf(':'))} URL; this server takes images inline only, as data:image/png;base64,... (it fetches nothing).`,
      param,
    );
  }
  const header = DATA_URL.exec(url);
  if (!header) {
    throw invalid(
      `${param}.image_url.url must be a base64 data URL of an image (data:image/png;base64,...); it starts ${JSON.stringify(url.slice(0, 24))}.`,
      param,
    );
  }
  const payload = url.slice(header[0].length);
  if (payload.length === 0 || payload.length % 4 !== 0 || !BASE64.test(payload)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(payload);
    throw invalid(
      `${param}.image_url.url is not valid base64: ${
        bad
          ? `it holds ${JSON.stringify(bad[0])} at character ${bad.index}`
          : payload.length === 0
            ? 'it is empty'
            : `its length (${payload.length}) is not a multiple of 4, or its padding is misplaced`
      }.`,
      param,
    );
  }
  const bytes = Buffer.from(payload, 'base64');
  const image = imageHeader(bytes);
  if (!image) {
    const other = knownUnsupported(bytes);
    throw invalid(
      other
        ? `${param} is ${other}, which llama.cpp cannot decode; send PNG, JPEG, GIF, BMP or PNM.`
        : `${param} is not an image llama.cpp can decode (PNG, JPEG, GIF, BMP or PNM): its first bytes are ${
            Buffer.from(bytes.subarray(0, 8))
              .toString('hex')
              .replace(/(..)(?!$)/g, '$1 ') || 'none'
          }.`,
      param,
    );
  }
  const { width, height } = image;
  if (width === 0 || height === 0)
    throw invalid(`${param} says it is ${width}×${height} pixels: it is empty.`, param);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw invalid(
      `${param} is ${width}×${height} pixels; images may have at most ${MAX_IMAGE_PIXELS} pixels (an 8K frame) and ${MAX_IMAGE_SIDE} on a side. Scale it down before sending it.`,
      param,
    );
  }
  return { url, format: image.format, width, height, bytes: bytes.length };
}
