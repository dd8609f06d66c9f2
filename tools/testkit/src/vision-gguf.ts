import fs from 'node:fs';
import path from 'node:path';
import { convert, convertProjector } from '@alki/converter';
import { fixtureCacheDir } from './cache.js';
import { generateCheckpoint } from './fixtures/checkpoint.js';

/** The GGUFs a vision-language model's -GGUF repo ships: the text model and its projector. */
export interface VisionGgufs {
  /** The safetensors checkpoint they were converted from. */
  checkpoint: string;
  /** The text model, F16. */
  model: string;
  /** The vision projector (mmproj), F16. */
  mmproj: string;
}

// Bump when the converter's output for the fixture changes, so stale
// cached GGUFs are rebuilt.
const VERSION = 1;

/**
 * The Gemma 3 vision fixture (`gemma3-vlm`: a tiny Gemma 3 text model and a
 * SigLIP tower with Gemma 3's projector) converted to GGUF by
 * @alki/converter, as a hub repo such as ggml-org/gemma-3-4b-it-GGUF holds
 * it: `gemma3-vlm-F16.gguf` and `mmproj-gemma3-vlm-f16.gguf`. Converting the
 * 262k-token vocabulary takes a while, so the files are cached.
 *
 * @example
 * const { model, mmproj } = await cachedVisionGgufs();
 */
export async function cachedVisionGgufs(): Promise<VisionGgufs> {
  const checkpoint = await generateCheckpoint({ family: 'gemma3-vlm' });
  const dir = fixtureCacheDir('vision-gguf', `${path.basename(checkpoint)}-v${VERSION}`);
  const model = path.join(dir, 'gemma3-vlm-F16.gguf');
  const mmproj = path.join(dir, 'mmproj-gemma3-vlm-f16.gguf');
  // Each file appears whole (the converter renames it into place) or not at all.
  if (!fs.existsSync(model)) await convert({ input: checkpoint, output: model, force: true });
  if (!fs.existsSync(mmproj)) await convertProjector({ input: checkpoint, output: mmproj, force: true });
  return { checkpoint, model, mmproj };
}
