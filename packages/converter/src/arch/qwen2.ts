import { decoderMetadata } from './common-metadata.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule } from './types.js';

/** Qwen2ForCausalLM (Qwen2, Qwen2.5): q/k/v biases, no Q/K permutation (NEOX rope in llama.cpp). */
export const qwen2Architecture: ArchitectureModule = {
  hfArchitectures: ['Qwen2ForCausalLM'],
  ggufArchitecture: 'qwen2',
  metadata: (config) => decoderMetadata('qwen2', config),
  mapTensor: (name) => mapStandardTensor(name),
};
