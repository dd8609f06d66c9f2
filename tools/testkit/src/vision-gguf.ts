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

/** The vision-language fixture families. */
export type VisionFamily = 'gemma3-vlm' | 'smolvlm';

/**
 * A vision fixture converted to GGUF by @alki/converter, as a hub repo such
 * as ggml-org/gemma-3-4b-it-GGUF or ggml-org/SmolVLM-256M-Instruct-GGUF holds
 * it: `<family>-F16.gguf` and `mmproj-<family>-f16.gguf`. `gemma3-vlm` (the
 * default) is a tiny Gemma 3 text model with a SigLIP tower and Gemma 3's
 * projector; `smolvlm` a tiny Llama text model with SmolVLM's tower and
 * pixel-shuffle connector (llama.cpp's idefics3 projector). Converting the
 * large vocabularies takes a while, so the files are cached.
 *
 * @example
 * const { model, mmproj } = await cachedVisionGgufs('smolvlm');
 */
export async function cachedVisionGgufs(family: VisionFamily = 'gemma3-vlm'): Promise<VisionGgufs> {
  const checkpoint = await generateCheckpoint({ family });
  const dir = fixtureCacheDir('vision-gguf', `${path.basename(checkpoint)}-v${VERSION}`);
  const model = path.join(dir, `${family}-F16.gguf`);
  const mmproj = path.join(dir, `mmproj-${family}-f16.gguf`);
  // Each file appears whole (the converter renames it into place) or not at all.
  if (!fs.existsSync(model)) await convert({ input: checkpoint, output: model, force: true });
  if (!fs.existsSync(mmproj)) await convertProjector({ input: checkpoint, output: mmproj, force: true });
  return { checkpoint, model, mmproj };
}
