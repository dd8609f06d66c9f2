// The I/O shell around planQuantization and the block quantizers: reads a
// GGUF, streams each tensor through the worker pool in chunks of whole rows,
// and writes the result atomically (temp file beside the output, then rename).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  commitFileSet,
  createGgufWriter,
  fileSource,
  ggmlTypeInfo,
  GgufError,
  openGgufModel,
  rollForwardFileSets,
  tensorByteSize,
  type ByteSource,
  type GgmlType,
  type GgufMetadataEntry,
  type GgufWriter,
} from '@alki/gguf-reader';
import { QuantizerError } from './errors.js';
import { parseImatrix, type Imatrix } from './imatrix/imatrix.js';
import { imatrixMetadata, importanceVectors, type ImportanceOptions } from './imatrix/importance.js';
import { mixInfo } from './mixes.js';
import { nDims, planQuantization, splitMetadata, type PlannedTensor, type PlanOptions } from './plan.js';
import {
  combineErrorStats,
  emptyErrorStats,
  summarizeErrors,
  type ErrorStats,
  type ErrorSummary,
} from './report.js';
import type { ChunkStats } from './worker/convert-chunk.js';
import { WorkerPool } from './worker/worker-pool.js';

const OUTPUT_EXISTS_HINT = 'Choose another output path, or pass --force to replace it.';

/** Weights per chunk sent to a worker: large enough to amortise messaging, small enough to keep memory flat. */
const CHUNK_WEIGHTS = 1 << 18;
/** Bytes per slab when a tensor is copied unchanged. */
const COPY_SLAB_BYTES = 16 << 20;
/**
 * A background fdatasync every this many bytes written: the disk writes back
 * while the workers quantize, and the fsync before the rename only waits for
 * the tail (llama-quantize does not sync at all; see tools/bench/quantize.ts).
 */
const FLUSH_EVERY_BYTES = 64 << 20;
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

/** An importance matrix file to quantize with (llama-quantize --imatrix), and which tensors use it. */
export interface ImatrixOption extends ImportanceOptions {
  /** The path, GGUF or legacy .dat; recorded in quantize.imatrix.file as given. */
  file: string;
}

export interface QuantizeGgufOptions extends Omit<PlanOptions, 'importance'> {
  /** The GGUF to read; for a split model, any of its shards (-00001-of-00003.gguf). */
  input: string;
  /** The GGUF to write; with keepSplit, the prefix of the shards (PREFIX-00001-of-00003.gguf). */
  output: string;
  imatrix?: ImatrixOption;
  /** Worker threads; default: every core; capped at maxQuantizeThreads(). */
  threads?: number;
  /** Replace an existing output file. */
  overwrite?: boolean;
  /** Measure each output type's quantization error (and with imatrix, the error without it); slower. */
  report?: boolean;
  onProgress?: (progress: QuantizeProgress) => void;
  /**
   * Told, before anything is written, of each shard set that an interrupted
   * quantization left in the output directory and that was completed (rolled
   * forward) or could not be.
   */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/** One output tensor type in a quantization report. */
export interface QuantizeReportRow {
  /** The ggml type name: Q4_K, F32... */
  type: string;
  tensors: number;
  weights: number;
  /** Bytes of tensor data in the output. */
  bytes: number;
  /** The round trip's error, as llama.cpp's quantize-stats reports it (converted tensors only). */
  error?: ErrorSummary;
  /** With an importance matrix: the error the same tensors get without it, for comparison. */
  withoutImatrix?: ErrorSummary;
}

export interface QuantizedTensorSummary {
  name: string;
  from: string;
  to: string;
  /** The type the rules chose before a row-length fallback, when there was one. */
  fallbackFrom?: string;
}

export interface QuantizeResult {
  /** The (first) file written. */
  output: string;
  /** Every file written: one, or one per shard with keepSplit. */
  outputs: string[];
  mix: string;
  fileType: number;
  inputBytes: number;
  outputBytes: number;
  /** Worker threads used (the request, capped at maxQuantizeThreads()). */
  threads: number;
  seconds: number;
  tensors: QuantizedTensorSummary[];
  /** Per output type, with the report option. */
  report?: QuantizeReportRow[];
  /** The importance matrix used, when there was one with entries left after the include/exclude filters. */
  imatrix?: { file: string; format: Imatrix['format']; entries: number; chunks: number; datasets: string[] };
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
  options.signal?.throwIfAborted();
  const model = await openGgufModel(path.resolve(options.input), { signal: options.signal });
  const outputs = outputPaths(options, options.keepSplit ? model.shards.length : 1);
  // A shard set whose renames a kill cut short is completed before anything
  // looks at what exists: its journal says every shard was whole.
  const recovery = await rollForwardFileSets(path.dirname(outputs[0]));
  if (recovery.completed.length > 0)
    options.onWarning?.(
      `Completed an interrupted write: renamed ${recovery.completed.join(', ')} into place.`,
    );
  for (const warning of recovery.warnings) options.onWarning?.(warning);
  for (const output of outputs) {
    if (model.shards.some((shard) => path.resolve(shard.location) === output)) {
      throw new QuantizerError('OUTPUT_EXISTS', 'The output path is the input file.', {
        hint: 'Write the quantized model to a new file.',
      });
    }
    if (!options.overwrite && fs.existsSync(output)) {
      throw new QuantizerError('OUTPUT_EXISTS', `${output} already exists.`, {
        hint: OUTPUT_EXISTS_HINT,
        details: { path: output },
      });
    }
  }
  const imatrix = options.imatrix && (await loadImatrix(options.imatrix));
  const sources: ByteSource[] = [];
  const writers: GgufWriter[] = [];
  // Once the shards go to commitFileSet, their temp files are its to remove or keep.
  let handedOver = false;
  let pool: WorkerPool | undefined;
  try {
    for (const shard of model.shards) sources.push(await fileSource(shard.location));
    const plan = planQuantization(model, {
      ...options,
      importance: imatrix?.vectors,
      metadataOverrides: [...(options.metadataOverrides ?? []), ...(imatrix?.metadata ?? [])],
    });
    for (let split = 0; split < plan.splitCount; split++) {
      writers.push(
        await createGgufWriter(
          outputs[split],
          {
            metadata: splitMetadata(plan, split),
            tensors: plan.tensors
              .filter((t) => t.split === split)
              // gguf.cpp writes ggml_n_dims dimensions: a [n, 1] tensor (Qwen2-MoE's shared-expert gate) becomes [n].
              .map((t) => ({
                name: t.name,
                type: t.targetType,
                dims: t.source.dims.slice(0, nDims(t.source.dims)),
              })),
          },
          // Without overwrite, a file another process wrote here meanwhile stays.
          { flushEveryBytes: FLUSH_EVERY_BYTES, replace: options.overwrite === true },
        ),
      );
    }
    const threads = Math.min(
      maxQuantizeThreads(),
      Math.max(1, Math.floor(options.threads ?? os.availableParallelism())),
    );
    pool = new WorkerPool(threads);
    const report = options.report ? new ReportAccumulator(imatrix !== undefined) : undefined;
    const bytesTotal = plan.tensors.reduce((sum, t) => sum + t.source.byteSize, 0);
    let bytesDone = 0;
    const progress = (tensor: string, bytes: number) => {
      bytesDone += bytes;
      options.onProgress?.({ tensor, bytesDone, bytesTotal });
    };
    for (const planned of plan.tensors) {
      options.signal?.throwIfAborted();
      const shard = planned.source.shard ?? 0;
      const from = { source: sources[shard], dataOffset: model.shards[shard].file.dataOffset };
      report?.addTensor(planned);
      if (planned.convert)
        await convertTensor(
          planned,
          from,
          writers[planned.split],
          pool,
          threads,
          progress,
          options.signal,
          report,
        );
      else await copyTensor(planned, from, writers[planned.split], progress, options.signal);
    }
    if (options.keepSplit) {
      // Every shard is complete and durable before any is renamed into place,
      // and the renames are journaled, so a kill between two of them leaves a
      // set the next write here completes, never old shards beside new ones.
      const temps: string[] = [];
      for (const writer of writers) temps.push(await writer.prepare());
      handedOver = true;
      await commitFileSet(temps.map((temp, split) => ({ from: temp, to: outputs[split] })));
    } else await writers[0].finish();
    return {
      output: outputs[0],
      outputs,
      mix: mixInfo(options.mix).mix,
      fileType: plan.fileType,
      inputBytes: model.fileSize,
      outputBytes: outputs.reduce((sum, file) => sum + fs.statSync(file).size, 0),
      threads,
      seconds: (Date.now() - started) / 1000,
      tensors: plan.tensors.map((t) => ({
        name: t.name,
        from: ggmlTypeInfo(t.source.type).name,
        to: ggmlTypeInfo(t.targetType).name,
        ...(t.fallbackFrom === undefined ? {} : { fallbackFrom: ggmlTypeInfo(t.fallbackFrom).name }),
      })),
      ...(report && { report: report.rows() }),
      ...(imatrix && { imatrix: imatrix.summary }),
    };
  } catch (error) {
    if (!handedOver) for (const writer of writers) await writer.abort();
    if (error instanceof GgufError && error.code === 'OUTPUT_EXISTS')
      throw new QuantizerError('OUTPUT_EXISTS', error.message, {
        hint: OUTPUT_EXISTS_HINT,
        cause: error,
        details: { path: outputs[0] },
      });
    throw error;
  } finally {
    await pool?.close();
    for (const source of sources) await source.close?.();
  }
}

// The output files: one, or with keepSplit one per shard, named as
// llama_split_path names them (PREFIX-00001-of-00003.gguf, the prefix being
// the output without .gguf); llama-quantize uses that naming even for one shard.
function outputPaths(options: QuantizeGgufOptions, splitCount: number): string[] {
  const output = path.resolve(options.output);
  if (!options.keepSplit) return [output];
  const prefix = output.endsWith('.gguf') ? output.slice(0, -'.gguf'.length) : output;
  const count = String(splitCount).padStart(5, '0');
  return Array.from(
    { length: splitCount },
    (_, i) => `${prefix}-${String(i + 1).padStart(5, '0')}-of-${count}.gguf`,
  );
}

// Reads the importance matrix as llama-quantize's prepare_imatrix does: the
// vectors after --exclude-weights/--include-weights, none at all when the
// filters leave nothing, and the quantize.imatrix.* keys.
async function loadImatrix(option: ImatrixOption): Promise<
  | {
      vectors: Map<string, Float32Array>;
      metadata: GgufMetadataEntry[];
      summary: NonNullable<QuantizeResult['imatrix']>;
    }
  | undefined
> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(option.file);
  } catch (cause) {
    throw new QuantizerError('INVALID_INPUT', `Cannot read the importance matrix ${option.file}.`, {
      hint: 'Check the --imatrix path.',
      cause,
      details: { path: option.file },
    });
  }
  const imatrix = await parseImatrix(bytes);
  const vectors = importanceVectors(imatrix, option);
  if (vectors.size === 0) return undefined;
  // llama_model_quantize_impl refuses non-finite importance values.
  for (const [name, vector] of vectors) {
    const bad = vector.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new QuantizerError(
        'IMATRIX_INVALID',
        `The importance matrix holds ${vector[bad]} for tensor "${name}".`,
        { hint: 'Compute the importance matrix again.', details: { tensor: name, index: bad } },
      );
  }
  return {
    vectors,
    metadata: imatrixMetadata(option.file, imatrix, vectors.size),
    summary: {
      file: option.file,
      format: imatrix.format,
      entries: vectors.size,
      chunks: imatrix.chunkCount,
      datasets: imatrix.datasets,
    },
  };
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

// The chunk is transferred to a worker, which detaches its buffer: a read
// that fills a buffer of its own (Node allocates reads over 4 KiB so) goes as
// it is; one that may share Node's buffer pool, or any other view, is copied.
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}

/** Where a tensor's bytes are: its shard's source and data offset. */
interface TensorOrigin {
  source: ByteSource;
  dataOffset: number;
}

async function copyTensor(
  planned: PlannedTensor,
  { source, dataOffset }: TensorOrigin,
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
  { source, dataOffset }: TensorOrigin,
  writer: GgufWriter,
  pool: WorkerPool,
  threads: number,
  progress: (tensor: string, bytes: number) => void,
  signal: AbortSignal | undefined,
  report: ReportAccumulator | undefined,
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
    if (result.stats) report?.addStats(planned.targetType, result.stats);
    progress(name, next.bytes);
  };

  try {
    for (let row = 0; row < rows;) {
      signal?.throwIfAborted();
      const expert = Math.floor(row / rowsPerExpert);
      const chunkRows = Math.min(rowsPerChunk, rows - row, (expert + 1) * rowsPerExpert - row);
      const length = chunkRows * rowBytes;
      const bytes = ownBuffer(await readExactly(source, dataOffset + offset + row * rowBytes, length, name));
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
          report: report !== undefined,
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

// Sums each output type's tensors, sizes and error statistics. With an
// importance matrix, the comparison without it covers the same tensors: those
// the matrix does not weigh come out the same either way.
class ReportAccumulator {
  constructor(private readonly withImatrix: boolean) {}

  private readonly byType = new Map<
    GgmlType,
    { tensors: number; weights: number; bytes: number; error?: ErrorStats; withoutImatrix?: ErrorStats }
  >();

  private entry(type: GgmlType) {
    let row = this.byType.get(type);
    if (!row) this.byType.set(type, (row = { tensors: 0, weights: 0, bytes: 0 }));
    return row;
  }

  addTensor(planned: PlannedTensor): void {
    const row = this.entry(planned.targetType);
    const weights = planned.source.dims.reduce((a, b) => a * b, 1);
    row.tensors++;
    row.weights += weights;
    row.bytes += tensorByteSize(planned.targetType, planned.source.dims);
  }

  addStats(type: GgmlType, stats: ChunkStats): void {
    const row = this.entry(type);
    row.error = combine(row.error, stats.error);
    if (this.withImatrix)
      row.withoutImatrix = combine(row.withoutImatrix, stats.withoutImatrix ?? stats.error);
  }

  rows(): QuantizeReportRow[] {
    return [...this.byType.entries()]
      .sort(([a], [b]) => a - b)
      .map(([type, row]) => ({
        type: ggmlTypeInfo(type).name,
        tensors: row.tensors,
        weights: row.weights,
        bytes: row.bytes,
        ...(row.error && { error: summarizeErrors(row.error) }),
        ...(row.withoutImatrix && { withoutImatrix: summarizeErrors(row.withoutImatrix) }),
      }));
  }
}

function combine(into: ErrorStats | undefined, from: ErrorStats): ErrorStats {
  const target = into ?? emptyErrorStats();
  combineErrorStats(target, from);
  return target;
}
