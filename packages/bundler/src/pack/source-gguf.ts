import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import type { BundleSource } from '../format/types.js';
import type { ResolvedSource, SourceContext } from './context.js';
import { createScratchDir } from './destination.js';
import { prepareProjector } from './projector.js';
import { quantizeModels } from './quantize-models.js';

/** Where a GGUF came from when it is not a plain local file. */
export interface GgufOrigin {
  source: BundleSource;
  hubUrl?: string;
  license?: string;
  licenseText?: string;
  time?: Date;
  defaultName?: string;
  /** The vision projector (a downloaded mmproj GGUF) to pack beside the model. */
  projector?: string;
}

// A local GGUF's projector is the file --mmproj names; nothing is guessed
// from the folder, which may hold projectors of other models.
function localProjector(context: SourceContext): string | undefined {
  const given = context.mmproj;
  if (given === undefined || given === false) return undefined;
  if (!/\.gguf$/i.test(given)) {
    throw new BundlerError('INVALID_INPUT', `--mmproj ${given} is not a .gguf file.`, {
      hint: 'Give the path of the mmproj-*.gguf file that belongs to the model.',
      details: { mmproj: given },
    });
  }
  return path.resolve(given);
}

/**
 * A GGUF file: packed as it is, or quantized into each requested quant
 * (from F32, F16 or BF16 weights).
 */
export async function packLocalGguf(
  file: string,
  context: SourceContext,
  origin?: GgufOrigin,
): Promise<ResolvedSource> {
  const facts = await context.inspect(file);
  const info = await stat(file);
  const base = { file, facts };
  let scratch: string | undefined;
  const cleanup = async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  try {
    const projectorFile = origin ? origin.projector : localProjector(context);
    const projector = projectorFile ? await prepareProjector(projectorFile, context.inspect) : undefined;
    let models = [base];
    if (context.quants) {
      scratch = await createScratchDir(context.scratchParent);
      models = await quantizeModels(base, context.quants, scratch, context);
    }
    return {
      models,
      ...(projector ? { projector } : {}),
      source: origin?.source ?? {
        kind: 'local-gguf',
        repo: path.basename(file),
        revision: null,
        files: [path.basename(file), ...(projector ? [path.basename(projector.file)] : [])],
      },
      hubUrl: origin?.hubUrl,
      license: origin?.license,
      licenseText: origin?.licenseText,
      time: origin?.time ?? info.mtime,
      defaultName: origin?.defaultName ?? path.basename(file).replace(/\.gguf$/i, ''),
      notes: [],
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
