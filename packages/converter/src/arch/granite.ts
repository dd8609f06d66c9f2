import { ggufEntry } from '@alki/gguf-reader';
import { decoderMetadata } from './common-metadata.js';
import { optionalNumber } from './hparams.js';
import { mapLlamaTensor } from './llama.js';
import type { ArchitectureModule } from './types.js';

/**
 * GraniteForCausalLM (GraniteModel in convert_hf_to_gguf): the llama layout
 * with four multipliers. Each is written even when config.json leaves it
 * out, with transformers' GraniteConfig default of 1.0: llama.cpp requires
 * logit_scale, and without attention.scale it would scale attention by
 * 1/sqrt(head_dim) where Granite uses attention_multiplier.
 */
export const graniteArchitecture: ArchitectureModule = {
  hfArchitectures: ['GraniteForCausalLM'],
  ggufArchitecture: 'granite',
  metadata: (config) => {
    // Granite ignores head_dim (hidden_size / heads), as the reference converter does.
    const withoutHeadDim = { ...config };
    delete withoutHeadDim.head_dim;
    const entries = decoderMetadata('granite', withoutHeadDim);
    const multiplier = (key: string) => optionalNumber(config, [key]) ?? 1;
    entries.push(
      ggufEntry.float32('granite.attention.scale', multiplier('attention_multiplier')),
      ggufEntry.float32('granite.embedding_scale', multiplier('embedding_multiplier')),
      ggufEntry.float32('granite.residual_scale', multiplier('residual_multiplier')),
      ggufEntry.float32('granite.logit_scale', multiplier('logits_scaling')),
    );
    return entries;
  },
  mapTensor: mapLlamaTensor,
};
