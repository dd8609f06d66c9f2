import { decoderMetadata } from './common-metadata.js';
import { liftTextConfig } from './hparams.js';
import { llama3RopeFactors, mapLlamaTensor } from './llama.js';
import type { ArchitectureModule, HfConfig, TensorMapping } from './types.js';

/**
 * The text settings: text_config lifted, with SmolVLM2's missing head count
 * filled in as LlamaModel does for VLlama3ForCausalLM.
 */
function smolvlmTextConfig(config: HfConfig): HfConfig {
  const text = liftTextConfig(config);
  return text.num_attention_heads === undefined ? { ...text, num_attention_heads: 32 } : text;
}

/**
 * The text model's tensors, under model.text_model (LlamaModel.filter_tensors
 * drops `text_model.`), with its own lm_head. The vision tower and the
 * connector belong in the projector GGUF.
 */
function mapSmolvlmTensor(name: string, config: HfConfig): TensorMapping | null | undefined {
  if (/^model\.(vision_model|connector)\./.test(name)) return null;
  // Only the text model's own names: a plain Llama checkpoint is not SmolVLM's.
  if (!/^(model\.text_model|lm_head)\./.test(name)) return undefined;
  const mapping = mapLlamaTensor(name.replace(/^model\.text_model\./, 'model.'), config);
  return mapping ? { ...mapping, source: name } : mapping;
}

/**
 * The text part of Idefics3ForConditionalGeneration and
 * SmolVLMForConditionalGeneration (SmolVLM, SmolVLM2, Idefics3): a Llama
 * model (text_config's VLlama3ForCausalLM, LlamaModel in convert_hf_to_gguf).
 * Its vision projector is `convertProjector`'s idefics3.
 */
export const smolvlmArchitecture: ArchitectureModule = {
  hfArchitectures: ['Idefics3ForConditionalGeneration', 'SmolVLMForConditionalGeneration'],
  ggufArchitecture: 'llama',
  textConfig: smolvlmTextConfig,
  metadata: (config) => decoderMetadata('llama', config),
  mapTensor: mapSmolvlmTensor,
  computedTensors: llama3RopeFactors,
};
