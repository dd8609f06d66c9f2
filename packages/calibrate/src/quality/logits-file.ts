// llama-perplexity's log-probability file, the one `--kl-divergence-base
// FILE` writes when it runs without `--kl-divergence` (llama.cpp's
// tools/perplexity/perplexity.cpp: `perplexity()`, `process_logits` and
// `log_softmax` with a uint16 output). Read here, it gives every figure of a
// `--kl-divergence` run without that run's log, whose last lines llama.cpp
// can lose at exit (see llama-perplexity.ts). Little-endian:
//   "_logits_", i32 nCtx, i32 nVocab, i32 nChunk, i32 tokens x (nChunk * nCtx),
//   then per window, per scored position (nCtx - 1 - nCtx/2 of them, from nCtx/2 on),
//   nv = 2 * ceil(nVocab / 2) + 4 u16 words: f32 scale, f32 minLogProb, u16 q x nVocab (padded),
//   where log p(token i) = scale * q[i] + minLogProb; q is 0 for logits 16 or more below the best.
import { open, type FileHandle } from 'node:fs/promises';
import { CalibrateError } from '../errors.js';
import { BASE_LOG_PROB_FLOOR, perplexityOf, QualityAccumulator } from './kl-divergence.js';
import type { PerplexitySummary, QualitySummary } from './kl-divergence.js';

const MAGIC = '_logits_';
const HEADER_BYTES = 20;

/** What a log-probability file's header says. */
export interface LogitsFileHeader {
  nCtx: number;
  nVocab: number;
  chunks: number;
  /** The text's tokens as the tool cut it, nCtx per window (without the BOS it puts first in each). */
  tokens: Int32Array;
  /** The first scored position of each window, and how many are scored. */
  first: number;
  scoredPerChunk: number;
  /** Bytes of one position's record. */
  recordBytes: number;
}

function notLogits(file: string, why: string): CalibrateError {
  return new CalibrateError(
    'MEASUREMENT_FAILED',
    `${file} is not a complete llama-perplexity log-probability file: ${why}.`,
    {
      hint: 'Run the calibration again; llama-perplexity rewrites the file.',
      details: { file },
    },
  );
}

async function readExactly(
  handle: FileHandle,
  bytes: number,
  position: number,
  file: string,
): Promise<Buffer> {
  // Buffer.alloc never hands out a slice of the shared pool, so typed arrays over it are aligned.
  const buffer = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(buffer, 0, bytes, position);
  if (bytesRead !== bytes) throw notLogits(file, `it ends after ${position + bytesRead} bytes`);
  return buffer;
}

async function readHeader(handle: FileHandle, file: string): Promise<LogitsFileHeader> {
  const head = await readExactly(handle, HEADER_BYTES, 0, file);
  if (head.toString('latin1', 0, 8) !== MAGIC) throw notLogits(file, 'it does not start with "_logits_"');
  const nCtx = head.readInt32LE(8);
  const nVocab = head.readInt32LE(12);
  const chunks = head.readInt32LE(16);
  if (nCtx < 4 || nVocab < 1 || chunks < 1) {
    throw notLogits(file, `its header says ${chunks} windows of ${nCtx} tokens over ${nVocab} tokens`);
  }
  const raw = await readExactly(handle, chunks * nCtx * 4, HEADER_BYTES, file);
  const first = Math.floor(nCtx / 2);
  return {
    nCtx,
    nVocab,
    chunks,
    tokens: new Int32Array(raw.buffer, raw.byteOffset, chunks * nCtx),
    first,
    scoredPerChunk: nCtx - 1 - first,
    recordBytes: (2 * Math.floor((nVocab + 1) / 2) + 4) * 2,
  };
}

/** One scored position: its log-probabilities, decoded lazily. */
interface Position {
  scale: number;
  minLogProb: number;
  q: Uint16Array;
}

/** Opens a file and walks its windows, one buffer per window. */
class LogitsReader {
  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    readonly header: LogitsFileHeader,
  ) {}

  static async open(file: string): Promise<LogitsReader> {
    const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
      throw notLogits(file, error.code === 'ENOENT' ? 'it was not written' : error.message);
    });
    try {
      const header = await readHeader(handle, file);
      const { size } = await handle.stat();
      const expected =
        HEADER_BYTES + header.tokens.byteLength + header.chunks * header.scoredPerChunk * header.recordBytes;
      if (size !== expected) throw notLogits(file, `it has ${size} bytes where its header makes ${expected}`);
      return new LogitsReader(file, handle, header);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The scored positions of window `chunk`. */
  async window(chunk: number): Promise<Position[]> {
    const { header } = this;
    const bytes = header.scoredPerChunk * header.recordBytes;
    const offset = HEADER_BYTES + header.tokens.byteLength + chunk * bytes;
    const buffer = await readExactly(this.handle, bytes, offset, this.file);
    const positions: Position[] = [];
    for (let p = 0; p < header.scoredPerChunk; p++) {
      const at = p * header.recordBytes;
      positions.push({
        scale: buffer.readFloatLE(at),
        minLogProb: buffer.readFloatLE(at + 4),
        q: new Uint16Array(buffer.buffer, buffer.byteOffset + at + 8, header.nVocab),
      });
    }
    return positions;
  }

  /** The token that follows position `p` of window `chunk`, the one whose loss counts. */
  next(chunk: number, p: number): number {
    const { header } = this;
    return header.tokens[chunk * header.nCtx + header.first + p + 1];
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function logProb(position: Position, token: number): number {
  return position.scale * position.q[token] + position.minLogProb;
}

// The first token with the largest value, as perplexity.cpp picks the top token.
function top(q: Uint16Array): number {
  let best = 0;
  for (let i = 1; i < q.length; i++) if (q[i] > q[best]) best = i;
  return best;
}

/**
 * Perplexity of the model that wrote `file` on its text: e to the mean loss
 * of the scored tokens, as llama-perplexity's final estimate.
 *
 * @example
 * const { perplexity } = await perplexityOfLogitsFile('f16.logits');
 */
export async function perplexityOfLogitsFile(file: string): Promise<PerplexitySummary> {
  const reader = await LogitsReader.open(file);
  try {
    const nlls: number[] = [];
    for (let c = 0; c < reader.header.chunks; c++) {
      (await reader.window(c)).forEach((position, p) => nlls.push(-logProb(position, reader.next(c, p))));
    }
    return perplexityOf(nlls);
  } finally {
    await reader.close();
  }
}

function sameText(base: LogitsFileHeader, quant: LogitsFileHeader): boolean {
  if (base.nCtx !== quant.nCtx || base.nVocab !== quant.nVocab || base.chunks !== quant.chunks) return false;
  for (let i = 0; i < base.tokens.length; i++) if (base.tokens[i] !== quant.tokens[i]) return false;
  return true;
}

/**
 * Compares a quant's log-probabilities with the reference's, position by
 * position, and sums what a `--kl-divergence` run prints: KL(base || quant)
 * over the base tokens above e^-16 (perplexity.cpp's `log_softmax` with a
 * base), top-1 agreement, both perplexities and Δp. Both files must come from
 * the same text, context and vocabulary.
 *
 * @example
 * const summary = await compareLogitsFiles('f16.logits', 'q4_k_m.logits');
 * summary.kld.value; summary.top1Agreement.value;
 */
export async function compareLogitsFiles(baseFile: string, quantFile: string): Promise<QualitySummary> {
  const base = await LogitsReader.open(baseFile);
  try {
    const quant = await LogitsReader.open(quantFile);
    try {
      if (!sameText(base.header, quant.header)) {
        throw new CalibrateError(
          'INVALID_INPUT',
          `${quantFile} was not computed on the same text, context and vocabulary as ${baseFile}.`,
          {
            hint: 'Compare quants of one model, with one --text and --quality-context.',
            details: { baseFile, quantFile },
          },
        );
      }
      const accumulator = new QualityAccumulator();
      for (let c = 0; c < base.header.chunks; c++) {
        const [basePositions, quantPositions] = await Promise.all([base.window(c), quant.window(c)]);
        basePositions.forEach((b, p) => {
          const q = quantPositions[p];
          let kld = 0;
          for (let i = 0; i < b.q.length; i++) {
            const logP = b.scale * b.q[i] + b.minLogProb;
            if (logP > BASE_LOG_PROB_FLOOR)
              kld += Math.exp(logP) * (logP - (q.scale * q.q[i] + q.minLogProb));
          }
          const next = base.next(c, p);
          const nll = -logProb(q, next);
          const nllBase = -logProb(b, next);
          accumulator.add({
            kld,
            sameTop: top(q.q) === top(b.q),
            nll,
            nllBase,
            pDiff: Math.exp(-nll) - Math.exp(-nllBase),
          });
        });
      }
      return accumulator.summary();
    } finally {
      await quant.close();
    }
  } finally {
    await base.close();
  }
}
