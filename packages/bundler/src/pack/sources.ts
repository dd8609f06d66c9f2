import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import type { BundleSource } from '../format/types.js';
import { quantLabel } from '../model/file-type.js';
import type { ModelFacts } from '../model/model-facts.js';
import type { PackOptions } from './pack.js';
import type { PreparedModel } from './write-bundle.js';

/** The replaceable steps of the pipeline. */
export interface PackSteps {
  /** Reads a GGUF's facts from its header. */
  inspect: (file: string) => Promise<ModelFacts>;
}

/** A source made concrete: local GGUF files ready to go into the bundle. */
export interface ResolvedSource {
  models: PreparedModel[];
  source: BundleSource;
  hubUrl?: string;
  /** The license the source names (model card, GGUF), if any. */
  license?: string | null;
  licenseText?: string;
  /** The source's own time: file modification time, or the hub commit date. */
  time: Date;
  /** The name used when neither --name nor general.name gives one. */
  defaultName: string;
  notes: string[];
  /** Removes scratch files (downloads stay in the hub cache). */
  cleanup(): Promise<void>;
}

/** `org/name` as the hub spells repo ids. */
const HUB_REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Normalises `q4_k_m` to `Q4_K_M` and rejects what cannot be a quant name. */
export function normaliseQuants(quants: readonly string[] | undefined): string[] | undefined {
  if (!quants || quants.length === 0) return undefined;
  const normalised = quants.map((q) => q.trim().toUpperCase());
  for (const quant of normalised) {
    if (!/^[A-Z0-9_]{1,32}$/.test(quant)) {
      throw new BundlerError('INVALID_INPUT', `${JSON.stringify(quant)} is not a quantization name.`, 'usage', {
        hint: 'Use names such as Q4_K_M, Q5_K_M or Q8_0, separated by commas.',
      });
    }
  }
  const duplicate = normalised.find((q, i) => normalised.indexOf(q) !== i);
  if (duplicate) throw new BundlerError('INVALID_INPUT', `--quantize names ${duplicate} twice.`, 'usage');
  return normalised;
}

async function localGguf(file: string, options: PackOptions, steps: PackSteps): Promise<ResolvedSource> {
  const facts = await steps.inspect(file);
  const info = await stat(file);
  const quants = normaliseQuants(options.quantize);
  const own = facts.fileType ? quantLabel(facts.fileType) : undefined;
  if (quants && !(quants.length === 1 && (quants[0] === own || own === undefined))) {
    throw new BundlerError('SOURCE_UNSUPPORTED', `Re-quantizing a GGUF (${own ?? 'unknown'} to ${quants.join(', ')}) needs @alki/quantizer, which this build does not have yet.`, 'input', {
      hint: 'Pack the GGUF as it is (without --quantize), or pack from the safetensors checkpoint.',
      details: { file, quantize: quants },
    });
  }
  return {
    models: [{ file, facts, quant: quants?.[0] }],
    source: { kind: 'local-gguf', repo: path.basename(file), revision: null, files: [path.basename(file)] },
    time: info.mtime,
    defaultName: path.basename(file).replace(/\.gguf$/i, ''),
    notes: [],
    cleanup: async () => undefined,
  };
}

/**
 * Turns `options.source` into local GGUF files: a .gguf is used as it is; a
 * model folder is converted and quantized; `org/name` comes from the hub.
 */
export async function resolveSource(options: PackOptions, steps: PackSteps, _destination: string): Promise<ResolvedSource> {
  let info;
  try {
    info = await stat(options.source);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (info?.isFile()) return localGguf(path.resolve(options.source), options, steps);
  if (info?.isDirectory()) {
    throw new BundlerError('SOURCE_UNSUPPORTED', `Packing a local model folder (${options.source}) needs @alki/converter, which this build does not have yet.`, 'input', {
      hint: 'Convert the checkpoint to GGUF first, or pack a .gguf file.',
      details: { source: options.source },
    });
  }
  if (HUB_REPO_ID.test(options.source) && !options.source.startsWith('.')) {
    throw new BundlerError('SOURCE_UNSUPPORTED', `Packing from the hub (${options.source}) needs @alki/hub, which this build does not have yet.`, 'input', {
      hint: 'Download the GGUF yourself and pack the local file.',
      details: { source: options.source },
    });
  }
  throw new BundlerError('SOURCE_NOT_FOUND', `${options.source} is neither a local file or folder nor a hub repo id (org/name).`, 'input', {
    hint: 'Pass a path to a .gguf file or a model folder, or a repo id such as Qwen/Qwen3-0.6B-GGUF.',
    details: { source: options.source },
  });
}
