import { decoderMetadata } from './common-metadata.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule } from './types.js';

/** Qwen3ForCausalLM: per-head RMSNorm on q and k (attn_q_norm, attn_k_norm), explicit head_dim. */
export const qwen3Architecture: ArchitectureModule = {
  hfArchitectures: ['Qwen3ForCausalLM'],
  ggufArchitecture: 'qwen3',
  metadata: (config) => decoderMetadata('qwen3', config),
  mapTensor: (name) => mapStandardTensor(name),
};
