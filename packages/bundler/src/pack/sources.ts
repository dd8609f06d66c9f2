import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import type { BundleSource } from '../format/types.js';
import type { ModelFacts } from '../model/model-facts.js';
import type { PackImatrix } from './imatrix-file.js';
import type { PackOptions, PackProgress } from './pack.js';
import { packCheckpointFolder } from './source-checkpoint.js';
import { packLocalGguf } from './source-gguf.js';
import { packHubRepo } from './source-hub.js';
import type { PreparedModel } from './write-bundle.js';

/** The replaceable steps of the pipeline. */
export interface PackSteps {
  /** Reads a GGUF's facts from its header. */
  inspect: (file: string) => Promise<ModelFacts>;
}

/** A source made concrete: local GGUF files ready to go into the bundle. */
export interface ResolvedSource {
  models: PreparedModel[];
  /** The vision projector served beside the models (`--mmproj`), for a vision-language model. */
  projector?: PreparedModel;
  source: BundleSource;
  hubUrl?: string;
  /** The license the source names (model card), if any; the GGUF's general.license is the fallback. */
  license?: string | null;
  licenseText?: string;
  /** The source's own time: file modification time, or the newest file of a download. */
  time: Date;
  /** The name used when neither --name nor general.name gives one. */
  defaultName: string;
  notes: string[];
  /** Removes scratch files (downloads stay in the hub cache). */
  cleanup(): Promise<void>;
}

/** What every source handler gets. */
export interface SourceContext {
  options: PackOptions;
  steps: PackSteps;
  /** Quant names as given (normalised), or undefined for the source's default. */
  quants: string[] | undefined;
  /** Where scratch directories go: the destination's parent, so results are renamed into the bundle. */
  scratchParent: string;
  /** The importance matrix every quantization uses (--imatrix), read and checked. */
  imatrix?: PackImatrix;
  progress: (event: PackProgress) => void;
}

/** `org/name` as the hub spells repo ids. */
const HUB_REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Normalises `q4_k_m` to `Q4_K_M` and rejects what cannot be a quant name. */
export function normaliseQuants(quants: readonly string[] | undefined): string[] | undefined {
  if (!quants || quants.length === 0) return undefined;
  const normalised = quants.map((q) => q.trim().toUpperCase());
  for (const quant of normalised) {
    if (!/^[A-Z0-9_]{1,32}$/.test(quant)) {
      throw new BundlerError('INVALID_INPUT', `${JSON.stringify(quant)} is not a quantization name.`, {
        hint: 'Use names such as Q4_K_M, Q5_K_M or Q8_0, separated by commas.',
      });
    }
  }
  const duplicate = normalised.find((q, i) => normalised.indexOf(q) !== i);
  if (duplicate) throw new BundlerError('INVALID_INPUT', `--quantize names ${duplicate} twice.`);
  return normalised;
}

/** The context source handlers work in. */
export function sourceContext(
  options: PackOptions,
  steps: PackSteps,
  scratchParent: string,
  imatrix?: PackImatrix,
): SourceContext {
  return {
    options,
    steps,
    quants: normaliseQuants(options.quantize),
    scratchParent,
    ...(imatrix ? { imatrix } : {}),
    progress: (event) => options.onProgress?.(event),
  };
}

/**
 * Turns `options.source` into local GGUF files: a .gguf is used as it is (or
 * quantized from F32/F16); a model folder is converted and quantized;
 * `org/name` comes from the hub (a GGUF picked with --filename, or a
 * safetensors checkpoint converted and quantized).
 */
export async function resolveSource(context: SourceContext): Promise<ResolvedSource> {
  const { options } = context;
  let info;
  try {
    info = await stat(options.source);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (options.filename !== undefined && info) {
    throw new BundlerError('INVALID_INPUT', '--filename only applies to a hub repo (org/name).');
  }
  if (
    options.mmproj !== undefined &&
    options.mmproj !== false &&
    !info?.isFile() &&
    !HUB_REPO_ID.test(options.source)
  ) {
    throw new BundlerError(
      'INVALID_INPUT',
      '--mmproj names a projector file for a .gguf source, or a glob for a hub repo.',
      {
        hint: 'A checkpoint folder has its projector converted with it; pass --no-mmproj to leave it out.',
      },
    );
  }
  if (info?.isFile()) return packLocalGguf(path.resolve(options.source), context);
  if (info?.isDirectory()) {
    return packCheckpointFolder(path.resolve(options.source), context, {
      kind: 'local-hf',
      repo: path.basename(path.resolve(options.source)),
      revision: null,
    });
  }
  // `dir/model.gguf` has the shape of a repo id, but no hub repo ends in
  // .gguf: it is a local file that is not there (as `alki inspect` decides).
  if (/\.gguf$/i.test(options.source)) {
    throw new BundlerError('SOURCE_NOT_FOUND', `${options.source} does not exist.`, {
      hint: 'Check the path of the .gguf file to pack.',
      details: { source: options.source },
    });
  }
  if (HUB_REPO_ID.test(options.source)) return packHubRepo(options.source, context);
  throw new BundlerError(
    'SOURCE_NOT_FOUND',
    `${options.source} is neither a local file or folder nor a hub repo id (org/name).`,
    {
      hint: 'Pass a path to a .gguf file or a model folder, or a repo id such as Qwen/Qwen3-0.6B-GGUF.',
      details: { source: options.source },
    },
  );
}
