import { convert, convertProjector, hasVisionProjector, type OutType } from '@alki/converter';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BundleSource } from '../format/types.js';
import type { PreparedModel, ResolvedSource, SourceContext } from './context.js';
import { createScratchDir } from './destination.js';
import { prepareProjector } from './projector.js';
import { checkQuants, quantizeModels } from './quantize-models.js';

/** The quant a checkpoint is packed as when --quantize is not given: the original README's edge default. */
export const DEFAULT_CHECKPOINT_QUANT = 'Q4_K_M';

/** License files a checkpoint may ship, in the order they are looked for. */
const LICENSE_FILES = ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'LICENCE', 'license.txt'];
/** A license text larger than this is not a license text. */
const MAX_LICENSE_BYTES = 1024 * 1024;

/** The checkpoint's license text, when it ships one. */
export async function readLicenseText(dir: string): Promise<string | undefined> {
  for (const name of LICENSE_FILES) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.size <= MAX_LICENSE_BYTES) return readFile(file, 'utf8');
  }
  return undefined;
}

// The newest modification time of the checkpoint's files: the "source time"
// of a folder, which stays put as long as the folder does.
async function newestTime(dir: string): Promise<Date> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
    if (info?.isFile()) newest = Math.max(newest, info.mtimeMs);
  }
  return new Date(newest);
}

/** Where a checkpoint folder came from. */
export interface CheckpointOrigin extends Omit<BundleSource, 'files'> {
  hubUrl?: string;
  license?: string;
  /** The source time; default the newest file of the folder. */
  time?: Date;
  /** general.name for the converted GGUF; default the converter's (the folder name). */
  modelName?: string;
  /** Quants when --quantize is not given. */
  defaultQuants?: string[];
}

/**
 * A Hugging Face checkpoint folder (safetensors, config, tokenizer):
 * converted to GGUF by @alki/converter, then quantized by @alki/quantizer
 * into each requested quant. F16 and F32 are written by the converter itself.
 */
export async function packCheckpointFolder(
  dir: string,
  context: SourceContext,
  origin: CheckpointOrigin,
): Promise<ResolvedSource> {
  const quants = context.quants ?? origin.defaultQuants ?? [DEFAULT_CHECKPOINT_QUANT];
  checkQuants(quants);
  const scratch = await createScratchDir(context.scratchParent);
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    // Quantize from F16, as llama.cpp's convert_hf_to_gguf.py + llama-quantize
    // do; an F32 bundle is converted at F32 directly.
    const outtype: OutType = quants.includes('F32') && quants.length === 1 ? 'f32' : 'f16';
    const base = path.join(scratch, `base-${outtype}.gguf`);
    context.progress({
      phase: 'convert',
      message: `Converting ${origin.repo} to GGUF (${outtype.toUpperCase()})`,
    });
    const converted = await convert({
      input: dir,
      output: base,
      outtype,
      ...(origin.license ? { license: origin.license } : {}),
      ...(origin.modelName ? { name: origin.modelName } : {}),
      signal: context.signal,
      onProgress: (p) =>
        context.progress({ phase: 'convert', file: p.tensor, done: p.bytesDone, total: p.bytesTotal }),
    });
    const facts = await context.inspect(base);
    const models = await quantizeModels({ file: base, facts, scratch: true }, quants, scratch, context);
    // A vision-language checkpoint's projector is converted too, at F16 as
    // convert_hf_to_gguf --mmproj writes it by default, whatever the model's quants.
    let projector: PreparedModel | undefined;
    if (context.mmproj !== false && hasVisionProjector(converted.architecture)) {
      const output = path.join(scratch, 'mmproj-f16.gguf');
      context.progress({ phase: 'convert', message: `Converting the ${origin.repo} vision projector (F16)` });
      await convertProjector({
        input: dir,
        output,
        outtype: 'f16',
        ...(origin.license ? { license: origin.license } : {}),
        ...(origin.modelName ? { name: origin.modelName } : {}),
        signal: context.signal,
        onProgress: (p) =>
          context.progress({ phase: 'convert', file: p.tensor, done: p.bytesDone, total: p.bytesTotal }),
      });
      projector = await prepareProjector(output, context.inspect, true);
    }
    const files = (await readdir(dir)).filter((name) => /\.(safetensors|json|model)$/i.test(name)).sort();
    return {
      models,
      ...(projector ? { projector } : {}),
      source: { kind: origin.kind, repo: origin.repo, revision: origin.revision, files },
      hubUrl: origin.hubUrl,
      license: origin.license ?? facts.license,
      licenseText: await readLicenseText(dir),
      time: origin.time ?? (await newestTime(dir)),
      defaultName: origin.modelName ?? path.basename(dir),
      notes: [
        `Converted ${converted.architecture} (${converted.parameterCount} parameters) with the ${converted.tokenizer.model} tokenizer${projector ? ', and its vision projector' : ''}.`,
      ],
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
