import { decoderMetadata } from './common-metadata.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule } from './types.js';

/**
 * Olmo2ForCausalLM (Olmo2Model in convert_hf_to_gguf): no norm before
 * attention or MLP; RMSNorms after each (post_attention_layernorm and
 * post_feedforward_layernorm, GGUF's post_attention_norm and post_ffw_norm)
 * and over the whole q and k projections; NEOX RoPE, so no Q/K permutation.
 */
export const olmo2Architecture: ArchitectureModule = {
  hfArchitectures: ['Olmo2ForCausalLM'],
  ggufArchitecture: 'olmo2',
  metadata: (config) => decoderMetadata('olmo2', config),
  mapTensor: (name) =>
    mapStandardTensor(name, {
      layerNames: {
        post_attention_layernorm: 'post_attention_norm',
        post_feedforward_layernorm: 'post_ffw_norm',
      },
    }),
};
