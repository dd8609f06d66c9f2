import { decoderMetadata } from './common-metadata.js';
import { checkQwenMoeConfig, mapQwenMoeTensor, moeMetadata } from './moe.js';
import type { ArchitectureModule } from './types.js';

/**
 * Qwen3MoeForCausalLM (Qwen3MoeModel in convert_hf_to_gguf): Qwen3's q/k
 * norms, a softmax router with renormalised top-k weights, stacked experts,
 * no shared expert.
 */
export const qwen3moeArchitecture: ArchitectureModule = {
  hfArchitectures: ['Qwen3MoeForCausalLM'],
  ggufArchitecture: 'qwen3moe',
  checkConfig: (config) => checkQwenMoeConfig(config, true, 'qwen3moe'),
  metadata: (config) => [...decoderMetadata('qwen3moe', config), ...moeMetadata('qwen3moe', config)],
  mapTensor: mapQwenMoeTensor,
};
