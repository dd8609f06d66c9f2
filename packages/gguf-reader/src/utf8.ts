// UTF-8 decoding for GGUF strings. Most strings in a GGUF are short tokenizer
// entries, so the common cases avoid TextDecoder's per-call overhead: pure
// ASCII goes through String.fromCharCode, and everything else through a
// fatal TextDecoder so that invalid UTF-8 is an error rather than U+FFFD.

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Decodes bytes[start, end), or returns undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length <= 24) {
    let result = '';
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (byte >= 0x80) return decodeSlow(bytes, start, end);
      result += String.fromCharCode(byte);
    }
    return result;
  }
  return decodeSlow(bytes, start, end);
}

function decodeSlow(bytes: Uint8Array, start: number, end: number): string | undefined {
  try {
    return fatalDecoder.decode(bytes.subarray(start, end));
  } catch {
    return undefined;
  }
}

/** UTF-8 bytes of a string. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
