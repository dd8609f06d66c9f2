// UTF-8 decoding for GGUF strings. A tokenizer holds 100k+ short strings, so
// the per-string cost matters more than anything else in a header read:
// TextDecoder with `fatal` allocates a view per call and showed up as the
// top cost (with the garbage it leaves). Instead we validate in a tight loop
// and let Buffer's native slice decoders build the string.

const encoder = new TextEncoder();

/**
 * Length of the valid UTF-8 sequence starting at bytes[i] (lead byte >= 0x80),
 * or 0 when it is invalid: overlong forms, UTF-16 surrogates and code points
 * above U+10FFFF are rejected, as the WHATWG decoder in fatal mode does
 * (Unicode 15, table 3-7).
 */
function sequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const lead = bytes[i];
  if (lead >= 0xc2 && lead <= 0xdf) {
    return i + 1 < end && (bytes[i + 1] & 0xc0) === 0x80 ? 2 : 0;
  }
  if (lead >= 0xe0 && lead <= 0xef) {
    if (i + 2 >= end) return 0;
    const second = bytes[i + 1];
    const low = lead === 0xe0 ? 0xa0 : 0x80;
    const high = lead === 0xed ? 0x9f : 0xbf;
    return second >= low && second <= high && (bytes[i + 2] & 0xc0) === 0x80 ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    if (i + 3 >= end) return 0;
    const second = bytes[i + 1];
    const low = lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xf4 ? 0x8f : 0xbf;
    return second >= low && second <= high && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80
      ? 4
      : 0;
  }
  return 0;
}

/** Decodes bytes[start, end) of a Buffer, or returns undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Buffer, start: number, end: number): string | undefined {
  let i = start;
  while (i < end && bytes[i] < 0x80) i++;
  if (i === end) return bytes.latin1Slice(start, end);
  while (i < end) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const length = sequenceLength(bytes, i, end);
    if (length === 0) return undefined;
    i += length;
  }
  return bytes.utf8Slice(start, end);
}

/** UTF-8 bytes of a string. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A Buffer view of the same memory, so that the native slice decoders apply. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

declare global {
  // Node's native slice decoders: public on Buffer.prototype since Node 0.x,
  // missing only from @types/node.
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
  }
}
