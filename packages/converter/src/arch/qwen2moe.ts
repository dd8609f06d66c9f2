import { decoderMetadata } from './common-metadata.js';
import { checkQwenMoeConfig, mapQwenMoeTensor, moeMetadata } from './moe.js';
import type { ArchitectureModule } from './types.js';

/**
 * Qwen2MoeForCausalLM (Qwen1.5-MoE; Qwen2MoeModel in convert_hf_to_gguf):
 * q/k/v biases, a softmax router whose top-k weights are not renormalised,
 * stacked experts, and a shared expert behind a sigmoid gate.
 */
export const qwen2moeArchitecture: ArchitectureModule = {
  hfArchitectures: ['Qwen2MoeForCausalLM'],
  ggufArchitecture: 'qwen2moe',
  checkConfig: (config) => checkQwenMoeConfig(config, false, 'qwen2moe'),
  metadata: (config) => [...decoderMetadata('qwen2moe', config), ...moeMetadata('qwen2moe', config)],
  mapTensor: mapQwenMoeTensor,
};
