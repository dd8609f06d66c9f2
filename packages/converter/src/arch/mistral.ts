import { ggufEntry } from '@alki/gguf-reader';
import { decoderMetadata } from './common-metadata.js';
import { optionalNumber } from './hparams.js';
import { mapLlamaTensor } from './llama.js';
import type { ArchitectureModule } from './types.js';

/**
 * MistralForCausalLM: the llama graph in llama.cpp (conversion/__init__.py
 * maps it to the llama module), plus its sliding window when one is set.
 */
export const mistralArchitecture: ArchitectureModule = {
  hfArchitectures: ['MistralForCausalLM'],
  ggufArchitecture: 'llama',
  metadata: (config) => {
    const entries = decoderMetadata('llama', config);
    const window = optionalNumber(config, ['sliding_window']);
    if (window) entries.push(ggufEntry.uint32('llama.attention.sliding_window', window));
    return entries;
  },
  mapTensor: mapLlamaTensor,
};
