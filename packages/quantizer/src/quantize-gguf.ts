// The I/O shell around planQuantization and the block quantizers: reads a
// GGUF, streams each tensor through the worker pool in chunks of whole rows,
// and writes the result atomically (temp file beside the output, then rename).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createGgufWriter,
  fileSource,
  ggmlTypeInfo,
  readGguf,
  type ByteSource,
  type GgufWriter,
} from '@alki/gguf-reader';
import { QuantizerError } from './errors.js';
import { mixInfo } from './mixes.js';
import { nDims, planQuantization, type PlannedTensor, type PlanOptions } from './plan.js';
import { WorkerPool } from './worker/worker-pool.js';

/** Weights per chunk sent to a worker: large enough to amortise messaging, small enough to keep memory flat. */
const CHUNK_WEIGHTS = 1 << 18;
/** Bytes per slab when a tensor is copied unchanged. */
const COPY_SLAB_BYTES = 16 << 20;
/** Worker threads per core at most: more cannot run at once, and each holds a V8 isolate and chunk buffers. */
const THREADS_PER_CORE = 4;

/**
 * The most worker threads quantizeGguf starts: a few per core. Asking for
 * more gets this many.
 *
 * @example
 * maxQuantizeThreads(2); // 8
 */
export function maxQuantizeThreads(cores: number = os.availableParallelism()): number {
  return Math.max(1, cores) * THREADS_PER_CORE;
}

export interface QuantizeProgress {
  /** The tensor being written. */
  tensor: string;
  /** Tensor data bytes of the input processed so far, and in all. */
  bytesDone: number;
  bytesTotal: number;
}

export interface QuantizeGgufOptions extends PlanOptions {
  input: string;
  output: string;
  /** Worker threads; default: every core; capped at maxQuantizeThreads(). */
  threads?: number;
  /** Replace an existing output file. */
  overwrite?: boolean;
  onProgress?: (progress: QuantizeProgress) => void;
  signal?: AbortSignal;
}

export interface QuantizedTensorSummary {
  name: string;
  from: string;
  to: string;
  /** The type the rules chose before a row-length fallback, when there was one. */
  fallbackFrom?: string;
}

export interface QuantizeResult {
  output: string;
  mix: string;
  fileType: number;
  inputBytes: number;
  outputBytes: number;
  /** Worker threads used (the request, capped at maxQuantizeThreads()). */
  threads: number;
  seconds: number;
  tensors: QuantizedTensorSummary[];
}

/**
 * Quantizes a GGUF (F32, F16 or BF16 weights) to a llama.cpp file-type mix,
 * byte for byte what `llama-quantize in out MIX` writes.
 *
 * @example
 * const result = await quantizeGguf({ input: 'model-f16.gguf', output: 'model-q4_k_m.gguf', mix: 'Q4_K_M' });
 * console.log(result.outputBytes);
 */
export async function quantizeGguf(options: QuantizeGgufOptions): Promise<QuantizeResult> {
  const started = Date.now();
  const input = path.resolve(options.input);
  const output = path.resolve(options.output);
  if (input === output) {
    throw new QuantizerError('OUTPUT_EXISTS', 'The output path is the input file.', {
      hint: 'Write the quantized model to a new file.',
    });
  }
  if (!options.overwrite && fs.existsSync(output)) {
    throw new QuantizerError('OUTPUT_EXISTS', `${output} already exists.`, {
      hint: 'Choose another output path, or pass --force to replace it.',
      details: { path: output },
    });
  }
  options.signal?.throwIfAborted();
  const source = await fileSource(input);
  let writer: GgufWriter | undefined;
  let pool: WorkerPool | undefined;
  try {
    const file = await readGguf(source, { signal: options.signal });
    const plan = planQuantization(file, options);
    writer = await createGgufWriter(output, {
      metadata: plan.metadata,
      // gguf.cpp writes ggml_n_dims dimensions: a [n, 1] tensor (Qwen2-MoE's shared-expert gate) becomes [n].
      tensors: plan.tensors.map((t) => ({
        name: t.source.name,
        type: t.targetType,
        dims: t.source.dims.slice(0, nDims(t.source.dims)),
      })),
    });
    const threads = Math.min(
      maxQuantizeThreads(),
      Math.max(1, Math.floor(options.threads ?? os.availableParallelism())),
    );
    pool = new WorkerPool(threads);
    const bytesTotal = plan.tensors.reduce((sum, t) => sum + t.source.byteSize, 0);
    let bytesDone = 0;
    const progress = (tensor: string, bytes: number) => {
      bytesDone += bytes;
      options.onProgress?.({ tensor, bytesDone, bytesTotal });
    };
    for (const planned of plan.tensors) {
      options.signal?.throwIfAborted();
      if (planned.convert)
        await convertTensor(
          planned,
          source,
          file.dataOffset,
          writer,
          pool,
          threads,
          progress,
          options.signal,
        );
      else await copyTensor(planned, source, file.dataOffset, writer, progress, options.signal);
    }
    await writer.finish();
    const outputBytes = fs.statSync(output).size;
    return {
      output,
      mix: mixInfo(options.mix).mix,
      fileType: plan.fileType,
      inputBytes: source.size ?? 0,
      outputBytes,
      threads,
      seconds: (Date.now() - started) / 1000,
      tensors: plan.tensors.map((t) => ({
        name: t.source.name,
        from: ggmlTypeInfo(t.source.type).name,
        to: ggmlTypeInfo(t.targetType).name,
        ...(t.fallbackFrom === undefined ? {} : { fallbackFrom: ggmlTypeInfo(t.fallbackFrom).name }),
      })),
    };
  } catch (error) {
    await writer?.abort();
    throw error;
  } finally {
    await pool?.close();
    await source.close?.();
  }
}

async function readExactly(
  source: ByteSource,
  offset: number,
  length: number,
  tensor: string,
): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new QuantizerError('INVALID_INPUT', `The data of tensor "${tensor}" is cut short.`, {
      details: { tensor, offset },
    });
  }
  return bytes;
}

async function copyTensor(
  planned: PlannedTensor,
  source: ByteSource,
  dataOffset: number,
  writer: GgufWriter,
  progress: (tensor: string, bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { name, offset, byteSize } = planned.source;
  for (let done = 0; done < byteSize;) {
    signal?.throwIfAborted();
    const length = Math.min(COPY_SLAB_BYTES, byteSize - done);
    await writer.writeTensorData(await readExactly(source, dataOffset + offset + done, length, name));
    done += length;
    progress(name, length);
  }
}

// Rows go to the workers in chunks; up to two chunks per thread are in flight
// and results are written in order, so memory stays at a few chunks per thread.
async function convertTensor(
  planned: PlannedTensor,
  source: ByteSource,
  dataOffset: number,
  writer: GgufWriter,
  pool: WorkerPool,
  threads: number,
  progress: (tensor: string, bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { name, dims, type, offset } = planned.source;
  const rowLength = dims[0];
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  const sourceInfo = ggmlTypeInfo(type);
  const rowBytes = (rowLength / sourceInfo.blockSize) * sourceInfo.typeSize;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_WEIGHTS / rowLength));
  // An importance matrix holds one vector per expert (ne[2]); chunks stop at expert boundaries.
  const rowsPerExpert = dims[1] ?? 1;
  const inFlight: Array<{ firstRow: number; bytes: number; result: ReturnType<WorkerPool['run']> }> = [];

  const drainOne = async () => {
    const next = inFlight.shift()!;
    const result = await next.result;
    if (!result.ok) {
      const index = next.firstRow * rowLength + result.index;
      if (result.reason === 'overflow') {
        throw new QuantizerError(
          'SCALE_OVERFLOW',
          `Tensor "${name}" has weights too large for ${ggmlTypeInfo(planned.targetType).name}: a half-precision scale overflows near weight ${index}.`,
          {
            hint: 'Choose a type for this tensor with --tensor-type (Q8_0 or F16 keep more range), or check the model for corrupt weights.',
            details: { tensor: name, index, type: ggmlTypeInfo(planned.targetType).name },
          },
        );
      }
      throw new QuantizerError(
        'NON_FINITE_WEIGHT',
        `Tensor "${name}" holds ${result.value} at weight ${index}; a model with NaN or infinite weights cannot be quantized.`,
        {
          hint: 'The input model is damaged: convert it again from the original checkpoint.',
          details: { tensor: name, index, value: String(result.value) },
        },
      );
    }
    await writer.writeTensorData(result.output);
    progress(name, next.bytes);
  };

  try {
    for (let row = 0; row < rows;) {
      signal?.throwIfAborted();
      const expert = Math.floor(row / rowsPerExpert);
      const chunkRows = Math.min(rowsPerChunk, rows - row, (expert + 1) * rowsPerExpert - row);
      const length = chunkRows * rowBytes;
      // A copy of our own: file reads may share Node's buffer pool, and the chunk is transferred.
      const bytes = new Uint8Array(
        await readExactly(source, dataOffset + offset + row * rowBytes, length, name),
      );
      inFlight.push({
        firstRow: row,
        bytes: length,
        result: pool.run({
          sourceType: type,
          targetType: planned.targetType,
          bytes,
          count: chunkRows * rowLength,
          rowLength,
          importance: planned.importance?.slice(expert * rowLength, (expert + 1) * rowLength),
        }),
      });
      row += chunkRows;
      if (inFlight.length >= threads * 2) await drainOne();
    }
    while (inFlight.length) await drainOne();
  } finally {
    // Settle what is still running so no rejection goes unhandled.
    await Promise.allSettled(inFlight.map((c) => c.result));
  }
}
