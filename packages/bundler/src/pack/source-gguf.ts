import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BundleSource } from '../format/types.js';
import { createScratchDir } from './destination.js';
import { quantizeModels } from './quantize-models.js';
import type { ResolvedSource, SourceContext } from './sources.js';

/** Where a GGUF came from when it is not a plain local file. */
export interface GgufOrigin {
  source: BundleSource;
  hubUrl?: string;
  license?: string;
  licenseText?: string;
  time?: Date;
  defaultName?: string;
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
  const facts = await context.steps.inspect(file);
  const info = await stat(file);
  const base = { file, facts };
  let scratch: string | undefined;
  const cleanup = async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  };
  try {
    let models = [base];
    if (context.quants) {
      scratch = await createScratchDir(context.scratchParent);
      models = await quantizeModels(base, context.quants, scratch, context);
    }
    return {
      models,
      source: origin?.source ?? {
        kind: 'local-gguf',
        repo: path.basename(file),
        revision: null,
        files: [path.basename(file)],
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
