import { ConverterError } from '../errors.js';
import { decoderMetadata } from './common-metadata.js';
import { requireCount } from './hparams.js';
import { mapLlamaTensor } from './llama.js';
import type { ArchitectureModule } from './types.js';

// llama.cpp hard-codes SmolLM3's NoPE layers (llama_model_smollm3::
// load_arch_hparams: n_no_rope_layer_step = 4, RoPE unless (il + 1) % 4 == 0).
const LLAMA_CPP_NO_ROPE_STEP = 4;

/**
 * SmolLM3ForCausalLM (SmolLM3Model in convert_hf_to_gguf): the llama layout
 * with every fourth layer without RoPE. The config's `no_rope_layers` (1 =
 * RoPE, 0 = none) must be the pattern llama.cpp assumes, or the GGUF would
 * load and quietly compute something else.
 */
export const smollm3Architecture: ArchitectureModule = {
  hfArchitectures: ['SmolLM3ForCausalLM'],
  ggufArchitecture: 'smollm3',
  checkConfig: (config) => {
    const layers = requireCount(config, ['num_hidden_layers']);
    const expected = Array.from({ length: layers }, (_, i) =>
      (i + 1) % LLAMA_CPP_NO_ROPE_STEP === 0 ? 0 : 1,
    );
    const actual = config.no_rope_layers;
    if (actual === undefined) return;
    const same =
      Array.isArray(actual) && actual.length === layers && actual.every((v, i) => Number(v) === expected[i]);
    if (!same) {
      throw new ConverterError(
        'BAD_CONFIG',
        `config.json's no_rope_layers is not "no RoPE on every 4th layer", the only pattern llama.cpp's smollm3 runs.`,
        {
          details: { key: 'no_rope_layers', expected },
          hint: 'This is a SmolLM3 variant llama.cpp cannot run as it is.',
        },
      );
    }
  },
  metadata: (config) => decoderMetadata('smollm3', config),
  mapTensor: mapLlamaTensor,
};
