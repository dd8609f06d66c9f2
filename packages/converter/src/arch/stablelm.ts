import { ggufEntry } from '@alki/gguf-reader';
import { decoderMetadata } from './common-metadata.js';
import { attentionShape, optionalNumber } from './hparams.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule } from './types.js';

/** StableLmForCausalLM: LayerNorm with bias, partial rotary embedding, optional q/k/v biases. */
export const stablelmArchitecture: ArchitectureModule = {
  hfArchitectures: ['StableLmForCausalLM'],
  ggufArchitecture: 'stablelm',
  metadata: (config) => {
    const { headDim } = attentionShape(config);
    const ropeDims = Math.floor((optionalNumber(config, ['partial_rotary_factor']) ?? 0.25) * headDim);
    const entries = decoderMetadata('stablelm', config, { normEpsilon: 'layer', ropeDims });
    entries.push(ggufEntry.bool('stablelm.use_parallel_residual', config.use_parallel_residual === true));
    return entries;
  },
  mapTensor: (name) => mapStandardTensor(name),
};
