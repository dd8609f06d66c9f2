import fs from 'node:fs/promises';
import path from 'node:path';
import { describeSystemError } from '@alki/errors';
import { createGgufWriter, GgmlType, GgufError, type GgufMetadataEntry } from '@alki/gguf-reader';
import { defaultArchitectures, type ArchitectureRegistry } from './arch/registry.js';
import { rankArchitectures } from './arch/closest.js';
import {
  gemma3ProjectorMetadata,
  gemma3ProjectorTensorType,
  mapGemma3ProjectorTensor,
} from './arch/gemma3-projector.js';
import {
  idefics3ProjectorMetadata,
  idefics3ProjectorTensorType,
  mapIdefics3ProjectorTensor,
} from './arch/idefics3-projector.js';
import type { ArchitectureModule, HfConfig } from './arch/types.js';
import { checkConfigBounds, checkPlannedShapes } from './check/hyperparameters.js';
import { ConverterError } from './errors.js';
import { openCheckpoint, readOptionalJson, type Checkpoint } from './input/checkpoint.js';
import { generalMetadata, licenseFromModelCard } from './metadata/general.js';
import { FILE_TYPE, OUT_TYPES, planTensors, type OutType, type PlannedTensor } from './plan.js';
import { streamTensors, type ConvertProgress } from './stream-tensors.js';
import { convertTokenizer } from './tokenizer/convert-tokenizer.js';
import { readTokenizerFiles } from './tokenizer/files.js';
import { readWholeFile } from './safetensors/reader.js';

const OUTPUT_EXISTS_HINT = 'Choose another output path, or pass --force to replace it.';

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
  /** Bytes of tensor data read at a time (with 16 in flight, this bounds memory). Default 512 KiB. */
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

/** A background fdatasync every this many bytes written. */
const FLUSH_EVERY_BYTES = 128 << 20;

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
  const readme = await readWholeFile(path.join(checkpoint.dir, 'README.md')).then(
    (b) => b.toString('utf8'),
    () => undefined,
  );
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
  const { outtype, output } = await checkOutput(options);
  const { architecture, module, plan, metadata, tokenizer, chatTemplate, parameterCount } = await prepare(
    options,
    outtype,
  );
  throwIfAborted(options.signal);
  const bytes = await writePlanned(output, metadata, plan, options);
  return {
    output,
    architecture,
    ggufArchitecture: module.ggufArchitecture,
    outtype,
    tensorCount: plan.length,
    parameterCount,
    bytes,
    tokenizer,
    chatTemplate,
  };
}

// A vision projector Alki converts: how its tensors are named and typed
// (an ArchitectureModule over the projector's tensors) and its clip.* metadata.
interface ProjectorKind {
  /** clip.projector_type, llama.cpp's name for the projector. */
  projectorType: string;
  module: ArchitectureModule;
  metadata(config: HfConfig, preprocessor: HfConfig): GgufMetadataEntry[];
}

const GEMMA3_PROJECTOR: ProjectorKind = {
  projectorType: 'gemma3',
  module: {
    hfArchitectures: ['Gemma3ForConditionalGeneration'],
    ggufArchitecture: 'clip',
    metadata: () => [],
    mapTensor: mapGemma3ProjectorTensor,
    requiredTensors: ['v.patch_embd.weight', 'v.position_embd.weight', 'mm.input_projection.weight'],
    tensorType: gemma3ProjectorTensorType,
  },
  metadata: gemma3ProjectorMetadata,
};

const IDEFICS3_PROJECTOR: ProjectorKind = {
  projectorType: 'idefics3',
  module: {
    hfArchitectures: ['Idefics3ForConditionalGeneration', 'SmolVLMForConditionalGeneration'],
    ggufArchitecture: 'clip',
    metadata: () => [],
    mapTensor: mapIdefics3ProjectorTensor,
    requiredTensors: ['v.patch_embd.weight', 'v.position_embd.weight', 'mm.model.fc.weight'],
    tensorType: idefics3ProjectorTensorType,
  },
  metadata: idefics3ProjectorMetadata,
};

const PROJECTORS = new Map<string, ProjectorKind>(
  [GEMMA3_PROJECTOR, IDEFICS3_PROJECTOR].flatMap((kind) =>
    kind.module.hfArchitectures.map((name) => [name, kind] as const),
  ),
);

/** The Hugging Face architectures whose vision projector `convertProjector` writes. */
export const PROJECTOR_ARCHITECTURES: readonly string[] = [...PROJECTORS.keys()];

/**
 * True when `convertProjector` converts the vision projector of a checkpoint
 * with this `architectures[0]`.
 *
 * @example
 * if (hasVisionProjector(config.architectures[0])) await convertProjector({ input, output: 'mmproj-f16.gguf' });
 */
export function hasVisionProjector(architecture: unknown): architecture is string {
  return typeof architecture === 'string' && PROJECTOR_ARCHITECTURES.includes(architecture);
}

/** What `convertProjector` wrote. */
export interface ConvertProjectorResult {
  output: string;
  architecture: string;
  projectorType: string;
  outtype: OutType;
  tensorCount: number;
  parameterCount: number;
  bytes: number;
}

/**
 * Writes the vision projector GGUF (an `mmproj` for llama.cpp's mtmd:
 * llama-server --mmproj, llama-mtmd-cli) of a vision-language checkpoint,
 * with the tensor names, shapes, types and clip.* metadata that
 * convert_hf_to_gguf --mmproj writes: Gemma3ForConditionalGeneration (SigLIP
 * and Gemma 3's projector) and Idefics3ForConditionalGeneration /
 * SmolVLMForConditionalGeneration (SmolVLM's tower and pixel-shuffle
 * connector, llama.cpp's idefics3). It needs preprocessor_config.json.
 *
 * @example
 * await convertProjector({ input: './gemma-3-4b-it', output: 'mmproj-gemma-3-4b-it-f16.gguf' });
 */
export async function convertProjector(options: ConvertOptions): Promise<ConvertProjectorResult> {
  const { outtype, output } = await checkOutput(options);
  const checkpoint = await openCheckpoint(options.input);
  const architecture = (checkpoint.config.architectures as unknown[] | undefined)?.[0];
  if (!hasVisionProjector(architecture)) {
    throw new ConverterError(
      'UNSUPPORTED_ARCHITECTURE',
      `Architecture ${JSON.stringify(architecture ?? null)} has no vision projector Alki converts; it converts ${PROJECTOR_ARCHITECTURES.join(', ')}'s.`,
      {
        details: { architecture: architecture ?? null },
        hint: "Pack the repository's pre-converted mmproj-*.gguf instead, if it ships one.",
      },
    );
  }
  const preprocessor = await readOptionalJson(checkpoint.dir, 'preprocessor_config.json');
  if (!preprocessor) {
    throw new ConverterError(
      'INVALID_INPUT',
      `${options.input} has no preprocessor_config.json, which holds the image mean and standard deviation the projector needs.`,
      { details: { dir: checkpoint.dir }, hint: 'Download the model with its preprocessor_config.json.' },
    );
  }
  const kind = PROJECTORS.get(architecture)!;
  const plan = planTensors(kind.module, checkpoint.config, checkpoint.tensors, outtype);
  const projectorMetadata = kind.metadata(checkpoint.config, preprocessor);
  checkProjectorShapes(projectorMetadata, plan);
  const parameterCount = plan.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  const metadata = [
    ...generalMetadata('clip', {
      type: 'mmproj',
      name: options.name,
      license: options.license,
      source: checkpoint.source,
      dir: checkpoint.dir,
      parameters: parameterCount,
      fileType: FILE_TYPE[outtype],
      quantized: outtype === 'q8_0',
    }),
    ...projectorMetadata,
  ];
  throwIfAborted(options.signal);
  const bytes = await writePlanned(output, metadata, plan, options);
  return {
    output,
    architecture,
    projectorType: kind.projectorType,
    outtype,
    tensorCount: plan.length,
    parameterCount,
    bytes,
  };
}

// What llama.cpp's clip loader would trip over, refused before anything is
// written: a layer count the tower does not hold, and (idefics3) a
// connector whose input is not the pixel-shuffled width.
function checkProjectorShapes(metadata: GgufMetadataEntry[], plan: PlannedTensor[]): void {
  const value = (key: string) => metadata.find((e) => e.key === key)?.value as number | undefined;
  const blocks = new Set(plan.map((t) => /^v\.blk\.(\d+)\./.exec(t.name)?.[1]).filter(Boolean));
  const declared = value('clip.vision.block_count');
  if (declared !== blocks.size) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's vision_config.num_hidden_layers is ${declared}, but the vision tower holds ${blocks.size} layers.`,
      { details: { key: 'vision_config.num_hidden_layers', value: declared, actual: blocks.size } },
    );
  }
  // The tower's widths as its tensors have them (ggml order: the patch
  // embedding is [patch, patch, 3, width], ffn_up [width, feed-forward]).
  const patch = plan.find((t) => t.name === 'v.patch_embd.weight');
  const ffnUp = plan.find((t) => t.name === 'v.blk.0.ffn_up.weight');
  for (const [key, configKey, actual, tensor] of [
    ['clip.vision.embedding_length', 'hidden_size', patch?.dims[3], patch],
    ['clip.vision.patch_size', 'patch_size', patch?.dims[0], patch],
    ['clip.vision.feed_forward_length', 'intermediate_size', ffnUp?.dims[1], ffnUp],
  ] as const) {
    const declaredValue = value(key);
    if (tensor && actual !== undefined && declaredValue !== undefined && actual !== declaredValue) {
      throw new ConverterError(
        'BAD_CONFIG',
        `config.json's vision_config.${configKey} is ${declaredValue}, but ${tensor.sources[0]?.name ?? tensor.name} has ${actual} there (shape [${[...tensor.dims].reverse().join(', ')}]).`,
        { details: { key: `vision_config.${configKey}`, value: declaredValue, actual } },
      );
    }
  }
  const fc = plan.find((t) => t.name === 'mm.model.fc.weight');
  const scale = value('clip.vision.projector.scale_factor');
  const width = value('clip.vision.embedding_length');
  if (fc && scale !== undefined && width !== undefined && fc.dims[0] !== width * scale * scale) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's scale_factor is ${scale}, so the connector should take ${width} x ${scale}² = ${width * scale * scale} inputs, but model.connector.modality_projection.proj.weight takes ${fc.dims[0]}.`,
      { details: { key: 'scale_factor', value: scale, actual: fc.dims[0] } },
    );
  }
  const projection = value('clip.vision.projection_dim');
  const output = fc?.dims[1];
  if (output !== undefined && projection !== undefined && output !== projection) {
    throw new ConverterError(
      'BAD_CONFIG',
      `The connector's output is ${output} wide, but text_config.hidden_size is ${projection}.`,
      { details: { key: 'text_config.hidden_size', value: projection, actual: output } },
    );
  }
}

// The output type is known and the output free (or --force), before any input is read.
async function checkOutput(options: ConvertOptions): Promise<{ outtype: OutType; output: string }> {
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
      hint: OUTPUT_EXISTS_HINT,
    });
  }
  throwIfAborted(options.signal);
  return { outtype, output };
}

// Streams the planned tensors into a temp file renamed to `output` when
// complete; returns its size.
async function writePlanned(
  output: string,
  metadata: GgufMetadataEntry[],
  plan: PlannedTensor[],
  options: ConvertOptions,
): Promise<number> {
  await fs.mkdir(path.dirname(output), { recursive: true }).catch(() => undefined);
  const writer = await createGgufWriter(
    output,
    { metadata, tensors: plan.map((t) => ({ name: t.name, type: t.type, dims: t.dims })) },
    // Writing back while converting makes the final fsync short (see tools/bench/convert.ts).
    // Without --force, a file another process wrote here meanwhile stays.
    { flushEveryBytes: FLUSH_EVERY_BYTES, replace: options.force === true },
  );
  try {
    await streamTensors(writer, plan, {
      chunkBytes: options.chunkBytes,
      onProgress: options.onProgress,
      checkAborted: () => throwIfAborted(options.signal),
    });
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw asConverterError(error, output, options.signal);
  }
  return (await fs.stat(output)).size;
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
  if (error instanceof GgufError && error.code === 'OUTPUT_EXISTS')
    return new ConverterError('OUTPUT_EXISTS', error.message, {
      hint: OUTPUT_EXISTS_HINT,
      cause: error,
      details: { output },
    });
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
