import { cachedSizedLlamaGguf, fixtureCacheDir } from '@alki/testkit';
import { resolveModels, type ResolvedModels } from '../models/resolve-models.js';

/**
 * The calibration fixture: an F32 llama large enough that its quants differ
 * measurably (2 layers, width 256, 1.0M parameters, the tiny tokenizer), and
 * its Q8_0 and Q4_K_M made by @alki/quantizer, all cached between runs.
 * Q4_K_M moves its next-token distributions about 100 times as far (KL) as
 * Q8_0 does.
 */
export async function calibrationModels(): Promise<ResolvedModels> {
  const source = await cachedSizedLlamaGguf({ embedding: 256, feedForward: 768, layers: 2, seed: 3 });
  return resolveModels([source], {
    quants: ['Q8_0', 'Q4_K_M'],
    cacheDir: fixtureCacheDir('calibrate-quants'),
  });
}
