import { artifactPath, inspectGguf, quantLabel, readBundle, type ModelFacts } from '@alki/bundler';
import { quantizeGguf } from '@alki/quantizer';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CalibrateError } from '../errors.js';

/** One model file to measure. */
export interface CalibrationModel {
  /** The quant label: `Q4_K_M`, `F16`. */
  quant: string;
  file: string;
  sizeBytes: number;
  facts: ModelFacts;
  /** Size over parameters: the precision ranking of the models. */
  bitsPerWeight: number;
}

/** The models of a run, the reference first. */
export interface ResolvedModels {
  /** `bundle` when the target was a bundle directory (so `--apply` can point at it). */
  kind: 'bundle' | 'files';
  /** The highest-precision model: every other is compared with it. */
  base: CalibrationModel;
  models: CalibrationModel[];
  /** Display name of the model (general.name, else the file or bundle name). */
  name: string;
}

export interface ResolveModelsOptions {
  /** Quants to produce from the (single, F32/F16/BF16) source with @alki/quantizer. */
  quants?: string[];
  /** Where produced quants are kept between runs; `$XDG_CACHE_HOME/alki/calibrate` by default. */
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (message: string, done?: number, total?: number) => void;
}

/** `$XDG_CACHE_HOME/alki/calibrate`, falling back to `~/.cache`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'alki', 'calibrate');
}

async function describe(file: string, quant?: string): Promise<CalibrationModel> {
  let info;
  try {
    info = await stat(file);
  } catch (cause) {
    throw new CalibrateError('INVALID_INPUT', `${file} does not exist.`, {
      cause,
      hint: 'Give a .gguf file or a bundle directory that `alki pack` wrote.',
      details: { file },
    });
  }
  if (!info.isFile()) {
    throw new CalibrateError('INVALID_INPUT', `${file} is not a GGUF file.`, { details: { file } });
  }
  const facts = await inspectGguf(file);
  const label = quant ?? (facts.fileType ? quantLabel(facts.fileType) : path.basename(file, '.gguf'));
  return {
    quant: label,
    file,
    sizeBytes: info.size,
    facts,
    bitsPerWeight: facts.parameterCount > 0 ? (facts.weightsBytes * 8) / facts.parameterCount : 0,
  };
}

// Produced quants are named by the source's path, size and time, so a changed
// source is quantized again and an unchanged one is not.
async function quantized(
  source: CalibrationModel,
  quant: string,
  options: ResolveModelsOptions,
): Promise<CalibrationModel> {
  const info = await stat(source.file);
  const key = createHash('sha256')
    .update(`${path.resolve(source.file)}\0${info.size}\0${info.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(options.cacheDir ?? defaultCacheDir(), key);
  const output = path.join(dir, `${quant.toLowerCase()}.gguf`);
  const existing = await stat(output).catch(() => undefined);
  if (!existing) {
    await mkdir(dir, { recursive: true });
    const partial = `${output}.partial`;
    await rm(partial, { force: true });
    options.onProgress?.(`Quantizing ${path.basename(source.file)} to ${quant}`);
    try {
      await quantizeGguf({
        input: source.file,
        output: partial,
        mix: quant,
        signal: options.signal,
        onProgress: (p) => options.onProgress?.(`Quantizing to ${quant}`, p.bytesDone, p.bytesTotal),
      });
      await rename(partial, output);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }
  return describe(output, quant);
}

function byPrecision(a: CalibrationModel, b: CalibrationModel): number {
  return b.bitsPerWeight - a.bitsPerWeight || b.sizeBytes - a.sizeBytes;
}

/**
 * The models to calibrate: a bundle's artifacts, the GGUF files given, or
 * one high-precision GGUF and the quants to make of it (cached). The model
 * with the most bits per weight is the reference for quality.
 *
 * @example
 * const { base, models } = await resolveModels(['model-f16.gguf'], { quants: ['Q4_K_M', 'Q8_0'] });
 */
export async function resolveModels(
  targets: string[],
  options: ResolveModelsOptions = {},
): Promise<ResolvedModels> {
  if (targets.length === 0) {
    throw new CalibrateError(
      'INVALID_OPTIONS',
      'Name a bundle directory or one or more .gguf files to calibrate.',
      {
        hint: 'For example `alki calibrate ./dist/my-model` or `alki calibrate model-f16.gguf --quants Q4_K_M,Q8_0`.',
      },
    );
  }
  let kind: ResolvedModels['kind'] = 'files';
  let models: CalibrationModel[];
  let bundleName: string | undefined;
  const first = await stat(targets[0]).catch(() => undefined);
  if (targets.length === 1 && first?.isDirectory()) {
    const bundle = await readBundle(targets[0]);
    kind = 'bundle';
    bundleName = bundle.manifest.name;
    models = [];
    for (const artifact of bundle.manifest.artifacts) {
      models.push(await describe(path.join(bundle.dir, artifactPath(artifact.uri)), artifact.quant));
    }
  } else {
    models = [];
    for (const target of targets) models.push(await describe(path.resolve(target)));
  }
  if (options.quants?.length) {
    if (models.length !== 1) {
      throw new CalibrateError(
        'INVALID_OPTIONS',
        '--quants makes its quants from one source model; give exactly one .gguf (or a bundle with one model).',
      );
    }
    const source = models[0];
    for (const quant of options.quants) {
      if (quant === source.quant) continue;
      options.signal?.throwIfAborted();
      models.push(await quantized(source, quant, options));
    }
  }
  const labels = new Set<string>();
  for (const model of models) {
    if (labels.has(model.quant)) {
      throw new CalibrateError(
        'INVALID_OPTIONS',
        `Two of the models are ${model.quant}; each quant is measured once.`,
        {
          details: { quant: model.quant },
        },
      );
    }
    labels.add(model.quant);
  }
  const ranked = [...models].sort(byPrecision);
  return {
    kind,
    base: ranked[0],
    models: ranked,
    name: bundleName ?? ranked[0].facts.name ?? path.basename(ranked[0].file, '.gguf'),
  };
}
