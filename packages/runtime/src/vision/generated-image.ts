import { deflateSync } from 'node:zlib';

// CRC-32 as PNG uses it (ISO 3309 / ITU-T V.42, the PNG specification's
// annex D sample code): reflected polynomial 0xEDB88320. zlib.crc32 would
// do, but it only exists from Node 20.15 and Alki runs on 20.10.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/**
 * A small RGB PNG that needs no file: a red-to-blue gradient over a green
 * field, `side` pixels square. `alki validate` sends it to a vision bundle.
 *
 * @example
 * const png = gradientPng(32);
 * const url = `data:image/png;base64,${png.toString('base64')}`;
 */
export function gradientPng(side = 32): Buffer {
  const row = side * 3 + 1;
  const raw = Buffer.alloc(row * side);
  for (let y = 0; y < side; y++) {
    // Each row starts with its filter type, 0 (none).
    for (let x = 0; x < side; x++) {
      const at = y * row + 1 + x * 3;
      raw[at] = Math.round((255 * x) / Math.max(1, side - 1));
      raw[at + 1] = 96;
      raw[at + 2] = Math.round((255 * y) / Math.max(1, side - 1));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
