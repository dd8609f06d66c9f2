import { decoderMetadata } from './common-metadata.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule, TensorTransform } from './types.js';

// Gemma's RMSNorm multiplies by (1 + weight) (modeling_gemma.py GemmaRMSNorm),
// llama.cpp by weight, so every norm weight gets +1 (GemmaModel.modify_tensors).
export const gemmaNormShift = (base: string, suffix: 'weight' | 'bias'): TensorTransform | undefined =>
  suffix === 'weight' && base.endsWith('norm') ? { kind: 'add', value: 1 } : undefined;

/** GemmaForCausalLM: shifted norms, tied embeddings, GELU (tanh) MLP, SentencePiece without a space prefix. */
export const gemmaArchitecture: ArchitectureModule = {
  hfArchitectures: ['GemmaForCausalLM'],
  ggufArchitecture: 'gemma',
  metadata: (config) => decoderMetadata('gemma', config),
  mapTensor: (name) => mapStandardTensor(name, { transform: gemmaNormShift }),
  tokenizer: { addSpacePrefix: false },
};
