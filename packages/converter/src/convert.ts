import fs from 'node:fs/promises';
import path from 'node:path';
import { describeSystemError } from '@alki/errors';
import { createGgufWriter, GgmlType, type GgufMetadataEntry, type GgufWriter } from '@alki/gguf-reader';
import { defaultArchitectures, type ArchitectureRegistry } from './arch/registry.js';
import { rankArchitectures } from './arch/closest.js';
import type { ArchitectureModule } from './arch/types.js';
import { checkConfigBounds, checkPlannedShapes } from './check/hyperparameters.js';
import { ConverterError } from './errors.js';
import { openCheckpoint, type Checkpoint } from './input/checkpoint.js';
import { generalMetadata, licenseFromModelCard } from './metadata/general.js';
import { FILE_TYPE, OUT_TYPES, planTensors, type OutType, type PlannedTensor } from './plan.js';
import { readExactly } from './safetensors/reader.js';
import { SAFETENSORS_DTYPE_SIZES } from './safetensors/dtypes.js';
import { decodeToFloat32, encodedByteLength, encodeFromFloat32, ggmlTypeOfDtype } from './tensor/encode.js';
import { permuteHeadRows } from './tensor/row-transforms.js';
import { convertTokenizer } from './tokenizer/convert-tokenizer.js';
import { readTokenizerFiles } from './tokenizer/files.js';

/** Progress of a conversion, reported after each chunk of tensor data. */
export interface ConvertProgress {
  tensor: string;
  tensorIndex: number;
  tensorCount: number;
  /** Bytes of checkpoint tensor data read so far, and in all. */
  bytesDone: number;
  bytesTotal: number;
}

export interface ConvertOptions {
  /** A Hugging Face model folder, or a model in the HF cache (models--org--name or one of its snapshots). */
  input: string;
  /** The GGUF to write; written to a temp file beside it, renamed when complete. */
  output: string;
  /** Default f16. */
  outtype?: OutType;
  /** Replace an existing output file. */
  force?: boolean;
  /** general.name; default the repository or folder name. */
  name?: string;
  /** general.license; default the model card's `license:`. */
  license?: string;
  /** Architecture modules; default `defaultArchitectures()`. */
  architectures?: ArchitectureRegistry;
  onProgress?: (progress: ConvertProgress) => void;
  signal?: AbortSignal;
  /** Bytes of tensor data handled at a time (bounds memory). Default 16 MiB. */
  chunkBytes?: number;
}

export interface ConvertResult {
  output: string;
  architecture: string;
  ggufArchitecture: string;
  outtype: OutType;
  tensorCount: number;
  parameterCount: number;
  bytes: number;
  tokenizer: { model: string; pre?: string; preHash?: string };
  chatTemplate: boolean;
}

const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

/** What `planConversion` reads and decides, without writing anything. */
export interface PlanConversionOptions {
  input: string;
  outtype?: OutType;
  name?: string;
  license?: string;
  architectures?: ArchitectureRegistry;
}

/** A tensor the GGUF would hold. */
export interface ConversionPlanTensor {
  name: string;
  /** ggml type name (F16, Q8_0, F32). */
  type: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  /** The checkpoint tensors it comes from (several for stacked experts; none when computed). */
  sources: string[];
}

/** What `convert` would write: the `--dry-run` report. */
export interface ConversionPlan {
  dir: string;
  architecture: string;
  ggufArchitecture: string;
  outtype: OutType;
  parameterCount: number;
  tokenizer: { model: string; pre?: string; preHash?: string };
  chatTemplate: boolean;
  /** Every metadata key but the tokenizer's token, type, score and merge arrays. */
  metadata: Record<string, unknown>;
  tensors: ConversionPlanTensor[];
}

const TOKEN_ARRAYS = new Set([
  'tokenizer.ggml.tokens',
  'tokenizer.ggml.token_type',
  'tokenizer.ggml.scores',
  'tokenizer.ggml.merges',
]);

/**
 * Everything `convert` decides, without writing: the detected family, the
 * tokenizer model and pre-tokenizer, the metadata and every tensor with its
 * GGUF name, type and shape. Fails exactly where `convert` would.
 *
 * @example
 * const plan = await planConversion({ input: './SmolLM3-3B', outtype: 'q8_0' });
 * console.log(plan.ggufArchitecture, plan.tokenizer.pre, plan.tensors.length);
 */
export async function planConversion(options: PlanConversionOptions): Promise<ConversionPlan> {
  const outtype = options.outtype ?? 'f16';
  const prepared = await prepare(options, outtype);
  return {
    dir: prepared.dir,
    architecture: prepared.architecture,
    ggufArchitecture: prepared.module.ggufArchitecture,
    outtype,
    parameterCount: prepared.parameterCount,
    tokenizer: prepared.tokenizer,
    chatTemplate: prepared.chatTemplate,
    metadata: Object.fromEntries(
      prepared.metadata.filter((e) => !TOKEN_ARRAYS.has(e.key)).map((e) => [e.key, e.value]),
    ),
    tensors: prepared.plan.map((t) => ({
      name: t.name,
      type: GgmlType[t.type],
      dims: t.dims,
      sources: t.sources.map((s) => s.name),
    })),
  };
}

interface Prepared {
  dir: string;
  architecture: string;
  module: ArchitectureModule;
  plan: PlannedTensor[];
  metadata: GgufMetadataEntry[];
  tokenizer: { model: string; pre?: string; preHash?: string };
  chatTemplate: boolean;
  parameterCount: number;
}

// Reads the checkpoint, checks config.json against the tensors and
// llama.cpp's limits (before any architecture hook reads a value), plans the
// tensors and builds the metadata. Nothing is written.
async function prepare(options: PlanConversionOptions, outtype: OutType): Promise<Prepared> {
  const checkpoint = await openCheckpoint(options.input);
  const architecture = (checkpoint.config.architectures as unknown[] | undefined)?.[0];
  const module = architectureFor(options.architectures ?? defaultArchitectures(), checkpoint);
  const config = module.textConfig?.(checkpoint.config) ?? checkpoint.config;
  checkConfigBounds(config, checkpoint.tensors);
  module.checkConfig?.(config);
  const plan = planTensors(module, config, checkpoint.tensors, outtype);
  const architectureMetadata = module.metadata(config);
  checkPlannedShapes(module.ggufArchitecture, architectureMetadata, plan);
  const vocabSize = config.vocab_size;
  if (typeof vocabSize !== 'number') throw new ConverterError('BAD_CONFIG', 'config.json has no vocab_size.');
  const tokenizer = await convertTokenizer({
    files: await readTokenizerFiles(checkpoint.dir),
    config,
    vocabSize,
    addSpacePrefix: module.tokenizer?.addSpacePrefix,
  });
  const parameterCount = plan.reduce(
    (sum, t) => sum + (t.sources.length ? t.dims.reduce((a, b) => a * b, 1) : 0),
    0,
  );
  const readme = await fs.readFile(path.join(checkpoint.dir, 'README.md'), 'utf8').catch(() => undefined);
  const metadata = [
    ...generalMetadata(module.ggufArchitecture, {
      name: options.name,
      license: options.license ?? licenseFromModelCard(readme),
      source: checkpoint.source,
      dir: checkpoint.dir,
      parameters: parameterCount,
      fileType: FILE_TYPE[outtype],
      quantized: outtype === 'q8_0',
    }),
    ...architectureMetadata,
    ...tokenizer.metadata,
  ];
  return {
    dir: checkpoint.dir,
    architecture: String(architecture),
    module,
    plan,
    metadata,
    tokenizer: { model: tokenizer.model, pre: tokenizer.pre, preHash: tokenizer.preHash },
    chatTemplate: tokenizer.metadata.some((e) => e.key === 'tokenizer.chat_template'),
    parameterCount,
  };
}

// The registered module for the checkpoint, or an error that names the
// closest supported architecture and the tensors it does not know.
function architectureFor(registry: ArchitectureRegistry, checkpoint: Checkpoint): ArchitectureModule {
  const architecture = (checkpoint.config.architectures as unknown[] | undefined)?.[0];
  try {
    return registry.get(architecture);
  } catch (error) {
    const [best] = rankArchitectures(registry, checkpoint.config, [...checkpoint.tensors.keys()]);
    if (!(error instanceof ConverterError) || !best || best.mapped === 0) throw error;
    const differs = best.unknown.length
      ? `it does not know ${best.unknown
          .slice(0, 4)
          .map((u) => `${u.pattern} (${u.count})`)
          .join(', ')}${best.unknown.length > 4 ? `, and ${best.unknown.length - 4} more kinds` : ''}`
      : 'it knows every tensor, so the model may be that architecture under another name';
    throw new ConverterError(
      'UNSUPPORTED_ARCHITECTURE',
      `Architecture ${JSON.stringify(architecture ?? null)} is not supported. Closest supported: ${best.hfArchitecture} (${best.ggufArchitecture}), which maps ${best.mapped} of ${best.total} tensors; ${differs}.`,
      {
        details: { ...(error.details ?? {}), closest: best },
        hint: `Supported: ${registry.names().join(', ')}. A module for it can be registered with ArchitectureRegistry.register.`,
      },
    );
  }
}

/**
 * Converts a Hugging Face safetensors checkpoint to GGUF, streaming one chunk
 * of one tensor at a time so memory stays bounded whatever the model's size.
 * The GGUF appears at `output` only when complete.
 *
 * @example
 * const result = await convert({ input: './TinyLlama-1.1B', output: 'tinyllama.gguf', outtype: 'q8_0', onProgress: (p) => console.log(p.bytesDone / p.bytesTotal) });
 */
export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const outtype = options.outtype ?? 'f16';
  if (!OUT_TYPES.includes(outtype)) {
    throw new ConverterError(
      'UNSUPPORTED_OUTTYPE',
      `Output type ${JSON.stringify(outtype)} is not one of ${OUT_TYPES.join(', ')}.`,
      { details: { outtype } },
    );
  }
  const output = path.resolve(options.output);
  if (
    !options.force &&
    (await fs.access(output).then(
      () => true,
      () => false,
    ))
  ) {
    throw new ConverterError('OUTPUT_EXISTS', `${options.output} already exists.`, {
      details: { output },
      hint: 'Choose another output path, or pass --force to replace it.',
    });
  }
  throwIfAborted(options.signal);
  const { architecture, module, plan, metadata, tokenizer, chatTemplate, parameterCount } = await prepare(
    options,
    outtype,
  );
  throwIfAborted(options.signal);

  await fs.mkdir(path.dirname(output), { recursive: true }).catch(() => undefined);
  const writer = await createGgufWriter(output, {
    metadata,
    tensors: plan.map((t) => ({ name: t.name, type: t.type, dims: t.dims })),
  });
  try {
    await streamTensors(writer, plan, options);
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw asConverterError(error, output, options.signal);
  }
  const { size } = await fs.stat(output);
  return {
    output,
    architecture,
    ggufArchitecture: module.ggufArchitecture,
    outtype,
    tensorCount: plan.length,
    parameterCount,
    bytes: size,
    tokenizer,
    chatTemplate,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new ConverterError('ABORTED', 'The conversion was interrupted; nothing was written.', {
      cause: signal.reason,
    });
}

function asConverterError(error: unknown, output: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted)
    return new ConverterError('ABORTED', 'The conversion was interrupted; nothing was written.', {
      cause: error,
    });
  if (error instanceof ConverterError) return error;
  const system = describeSystemError(error);
  if (system) {
    return new ConverterError('WRITE_FAILED', `Cannot write ${output}: ${system.message}.`, {
      category: system.category,
      cause: error,
      details: { output },
    });
  }
  return error;
}

async function streamTensors(
  writer: GgufWriter,
  plan: PlannedTensor[],
  options: ConvertOptions,
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const bytesTotal = plan.reduce((sum, t) => sum + t.sources.reduce((n, s) => n + s.byteLength, 0), 0);
  let bytesDone = 0;
  const handles = new Map<string, fs.FileHandle>();
  // One pair of buffers serves every chunk: allocating (and zeroing) 16 MiB
  // per chunk would cost more than the copy itself.
  const buffers = [new Uint8Array(0), new Uint8Array(0)];
  try {
    for (const [index, tensor] of plan.entries()) {
      throwIfAborted(options.signal);
      if (tensor.computed) {
        await writer.writeTensorData(
          new Uint8Array(tensor.computed.buffer, tensor.computed.byteOffset, tensor.computed.byteLength),
        );
        continue;
      }
      for (const source of tensor.sources) {
        let handle = handles.get(source.file);
        if (!handle) {
          handle = await fs.open(source.file, 'r');
          handles.set(source.file, handle);
        }
        const rowLength = tensor.dims[0];
        const rows = source.byteLength / SAFETENSORS_DTYPE_SIZES[source.dtype] / rowLength;
        const inRowBytes = rowLength * SAFETENSORS_DTYPE_SIZES[source.dtype];
        const group = tensor.transform?.kind === 'permute-heads' ? rows / tensor.transform.heads : 1;
        const chunkRows = Math.max(group, Math.floor(chunkBytes / inRowBytes / group) * group);
        const passThrough = ggmlTypeOfDtype(source.dtype) === tensor.type && tensor.transform?.kind !== 'add';
        // Reading the next chunk while the current one is converted and
        // written keeps the disk busy both ways, as two buffers allow.
        const read = (row: number, slot: number) => {
          const count = Math.min(chunkRows, rows - row);
          const length = count * inRowBytes;
          if (buffers[slot].byteLength < length) buffers[slot] = new Uint8Array(length);
          const pending = readExactly(
            handle!,
            source.offset + row * inRowBytes,
            length,
            source.file,
            buffers[slot].subarray(0, length),
          ).then((bytes) => ({ bytes, count }));
          // A failure is reported when the chunk is awaited; never as an unhandled rejection.
          pending.catch(() => undefined);
          return pending;
        };
        let slot = 0;
        let next = read(0, slot);
        for (let row = 0; row < rows; row += chunkRows) {
          throwIfAborted(options.signal);
          const { bytes, count } = await next;
          if (row + chunkRows < rows) {
            slot ^= 1;
            next = read(row + chunkRows, slot);
          }
          if (tensor.transform?.kind === 'permute-heads') permuteHeadRows(bytes, count, inRowBytes, group);
          if (passThrough) {
            await writer.writeTensorData(bytes);
          } else {
            const values = new Float32Array(count * rowLength);
            decodeToFloat32(bytes, source.dtype, values);
            if (tensor.transform?.kind === 'add')
              for (let i = 0; i < values.length; i++) values[i] += tensor.transform.value;
            const out = new Uint8Array(encodedByteLength(tensor.type, values.length));
            encodeFromFloat32(values, tensor.type, out);
            await writer.writeTensorData(out);
          }
          bytesDone += count * inRowBytes;
          options.onProgress?.({
            tensor: tensor.name,
            tensorIndex: index,
            tensorCount: plan.length,
            bytesDone,
            bytesTotal,
          });
        }
      }
    }
  } finally {
    for (const handle of handles.values()) await handle.close();
  }
}
