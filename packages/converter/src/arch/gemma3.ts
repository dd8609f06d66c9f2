import { ggufEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { decoderMetadata } from './common-metadata.js';
import { gemmaNormShift } from './gemma.js';
import { attentionShape, liftTextConfig, optionalNumber, requireCount, ropeScaling } from './hparams.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule, HfConfig, TensorMapping } from './types.js';

// llama.cpp's default period (llama_model_gemma3::load_arch_hparams): five
// sliding-window layers, then one global layer.
const LLAMA_CPP_SWA_PERIOD = 6;

/**
 * Which layers use the sliding window: `layer_types` when the config has it,
 * else every layer but each `sliding_window_pattern`-th (Gemma3TextConfig).
 */
function slidingLayers(config: HfConfig): boolean[] {
  const layers = requireCount(config, ['num_hidden_layers']);
  if (Array.isArray(config.layer_types)) {
    if (config.layer_types.length !== layers) {
      throw new ConverterError(
        'BAD_CONFIG',
        `config.json's layer_types has ${config.layer_types.length} entries but num_hidden_layers is ${layers}.`,
        { details: { key: 'layer_types', entries: config.layer_types.length, layers } },
      );
    }
    return config.layer_types.map((type) => type === 'sliding_attention');
  }
  const period = optionalNumber(config, ['sliding_window_pattern']) ?? LLAMA_CPP_SWA_PERIOD;
  return Array.from({ length: layers }, (_, i) => (i + 1) % period !== 0);
}

/**
 * The period llama.cpp needs for the layer pattern (set_swa_pattern: layer i
 * slides when i % period < period - 1), or an error when no period gives it.
 */
function swaPeriod(config: HfConfig): number {
  const sliding = slidingLayers(config);
  const fits = (period: number) => sliding.every((s, i) => s === i % period < period - 1);
  if (fits(LLAMA_CPP_SWA_PERIOD)) return LLAMA_CPP_SWA_PERIOD;
  for (let period = 1; period <= sliding.length; period++) if (fits(period)) return period;
  throw new ConverterError(
    'BAD_CONFIG',
    `config.json's layer_types is not a repeating pattern of sliding layers followed by one global layer, which is all llama.cpp's gemma3 can express.`,
    { details: { key: 'layer_types' } },
  );
}

/**
 * The text model's tensors: Gemma3ForCausalLM names them model.*, the
 * vision-language checkpoint language_model.model.* (or model.language_model.*
 * in newer transformers). The vision tower and projector belong in the
 * projector GGUF, not here.
 */
function mapGemma3Tensor(name: string): TensorMapping | null | undefined {
  if (/^(model\.)?(vision_tower|multi_modal_projector)\./.test(name)) return null;
  const text = name
    .replace(/^language_model\.model\./, 'model.')
    .replace(/^model\.language_model\./, 'model.')
    .replace(/^language_model\.lm_head\./, 'lm_head.');
  const mapping = mapStandardTensor(text, {
    layerNames: {
      post_attention_layernorm: 'post_attention_norm',
      pre_feedforward_layernorm: 'ffn_norm',
      post_feedforward_layernorm: 'post_ffw_norm',
    },
    transform: gemmaNormShift,
  });
  return mapping ? { ...mapping, source: name } : mapping;
}

/**
 * Gemma3ForCausalLM and the text part of Gemma3ForConditionalGeneration
 * (Gemma3Model in convert_hf_to_gguf): sandwich norms, q/k norms, all with
 * Gemma's +1; sliding-window layers with their own RoPE base; linear RoPE
 * scaling of the global layers; optional final logit softcapping.
 */
export const gemma3Architecture: ArchitectureModule = {
  hfArchitectures: ['Gemma3ForCausalLM', 'Gemma3ForConditionalGeneration'],
  ggufArchitecture: 'gemma3',
  textConfig: liftTextConfig,
  checkConfig: (config) => {
    if (optionalNumber(config, ['attn_logit_softcapping']) !== undefined) {
      throw new ConverterError(
        'BAD_CONFIG',
        "config.json sets attn_logit_softcapping, which Gemma 3 does not have and llama.cpp's gemma3 ignores.",
        { details: { key: 'attn_logit_softcapping' } },
      );
    }
    // llama.cpp scales queries by 1/sqrt(head_dim), or 1/sqrt(hidden/heads) for the 62-layer 27B.
    const scalar = optionalNumber(config, ['query_pre_attn_scalar']);
    const { headDim, hidden, heads } = attentionShape(config);
    const expected = requireCount(config, ['num_hidden_layers']) === 62 ? hidden / heads : headDim;
    if (scalar !== undefined && scalar !== expected) {
      throw new ConverterError(
        'BAD_CONFIG',
        `config.json's query_pre_attn_scalar is ${scalar}, but llama.cpp's gemma3 scales queries by 1/sqrt(${expected}).`,
        { details: { key: 'query_pre_attn_scalar', value: scalar, expected } },
      );
    }
    swaPeriod(config);
  },
  metadata: (config) => {
    const { headDim } = attentionShape(config);
    const entries = decoderMetadata('gemma3', { max_position_embeddings: 131072, ...config }).filter(
      (e) => !e.key.endsWith('.key_length') && !e.key.endsWith('.value_length'),
    );
    entries.push(
      ggufEntry.uint32('gemma3.attention.key_length', headDim),
      ggufEntry.uint32('gemma3.attention.value_length', headDim),
    );
    const local = optionalNumber(config, ['rope_local_base_freq']);
    if (local !== undefined) entries.push(ggufEntry.float32('gemma3.rope.freq_base_swa', local));
    const scaling = ropeScaling(config);
    if (scaling?.rope_type === 'linear' && typeof scaling.factor === 'number') {
      entries.push(
        ggufEntry.string('gemma3.rope.scaling.type', 'linear'),
        ggufEntry.float32('gemma3.rope.scaling.factor', scaling.factor),
      );
    }
    const finalCap = optionalNumber(config, ['final_logit_softcapping']);
    if (finalCap) entries.push(ggufEntry.float32('gemma3.final_logit_softcapping', finalCap));
    const window = optionalNumber(config, ['sliding_window']);
    if (window) {
      entries.push(ggufEntry.uint32('gemma3.attention.sliding_window', window));
      const period = swaPeriod(config);
      // llama.cpp assumes 6 when the key is absent, as the reference converter relies on.
      if (period !== LLAMA_CPP_SWA_PERIOD)
        entries.push(ggufEntry.uint32('gemma3.attention.sliding_window_pattern', period));
    }
    return entries;
  },
  mapTensor: mapGemma3Tensor,
  tokenizer: { addSpacePrefix: false },
};
