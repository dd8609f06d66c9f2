import { CalibrateError } from '../errors.js';
import type { BaseDistribution } from './kl-divergence.js';

// The reference model's distributions, kept between the child process that
// computes them and the ones that compare each quant against them (the role
// of llama-perplexity's --kl-divergence-base file). Little-endian:
//   magic "ALKIKLD1", u32 nCtx, u32 chunk count, u32 positions,
//   u32 tokens of every chunk (nCtx each),
//   then per position: u32 count, u32 top, f32 nll, u32 token x count, f32 logProb x count.

const MAGIC = 'ALKIKLD1';

/** What a reference file holds. */
export interface BaseFile {
  nCtx: number;
  /** The evaluated windows, so that every quant sees exactly the base's tokens. */
  chunks: number[][];
  positions: BaseDistribution[];
}

/** The header and windows, written before the positions. */
export function encodeBaseHeader(nCtx: number, chunks: number[][], positions: number): Buffer {
  const header = Buffer.alloc(8 + 12 + chunks.length * nCtx * 4);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(nCtx, 8);
  header.writeUInt32LE(chunks.length, 12);
  header.writeUInt32LE(positions, 16);
  let offset = 20;
  for (const chunk of chunks) {
    for (const token of chunk) {
      header.writeUInt32LE(token, offset);
      offset += 4;
    }
  }
  return header;
}

/** One position's record. */
export function encodeBasePosition(position: BaseDistribution): Buffer {
  const count = position.tokens.length;
  const record = Buffer.alloc(12 + count * 8);
  record.writeUInt32LE(count, 0);
  record.writeUInt32LE(position.top, 4);
  record.writeFloatLE(position.nll, 8);
  Buffer.from(position.tokens.buffer, position.tokens.byteOffset, count * 4).copy(record, 12);
  Buffer.from(position.logProbs.buffer, position.logProbs.byteOffset, count * 4).copy(record, 12 + count * 4);
  return record;
}

function truncated(file: string): CalibrateError {
  return new CalibrateError('INVALID_INPUT', `${file} is not a complete reference distribution file.`, {
    hint: 'Run the calibration again; the file is rewritten from the reference model.',
    details: { file },
  });
}

/**
 * Reads a reference file back.
 *
 * @example
 * const base = decodeBaseFile(await readFile(file), file);
 */
export function decodeBaseFile(bytes: Buffer, file = 'the reference file'): BaseFile {
  if (bytes.length < 20 || bytes.toString('latin1', 0, 8) !== MAGIC) throw truncated(file);
  const nCtx = bytes.readUInt32LE(8);
  const chunkCount = bytes.readUInt32LE(12);
  const positionCount = bytes.readUInt32LE(16);
  let offset = 20;
  if (bytes.length < offset + chunkCount * nCtx * 4) throw truncated(file);
  const chunks: number[][] = [];
  for (let c = 0; c < chunkCount; c++) {
    const chunk: number[] = [];
    for (let i = 0; i < nCtx; i++, offset += 4) chunk.push(bytes.readUInt32LE(offset));
    chunks.push(chunk);
  }
  const positions: BaseDistribution[] = [];
  for (let p = 0; p < positionCount; p++) {
    if (bytes.length < offset + 12) throw truncated(file);
    const count = bytes.readUInt32LE(offset);
    const top = bytes.readUInt32LE(offset + 4);
    const nll = bytes.readFloatLE(offset + 8);
    offset += 12;
    if (bytes.length < offset + count * 8) throw truncated(file);
    // Copies, so the typed arrays are aligned whatever the offset.
    const tokens = new Uint32Array(
      bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4),
    );
    offset += count * 4;
    const logProbs = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4),
    );
    offset += count * 4;
    positions.push({ tokens, logProbs, top, nll });
  }
  return { nCtx, chunks, positions };
}
