import { GgmlType, ggufEntry, GgufValueType, type GgufMetadataEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { optionalNumber, requireCount } from './hparams.js';
import type { HfConfig, TensorMapping } from './types.js';

// SiglipVisionModel's tensors under vision_tower.vision_model, and their
// names in llama.cpp's projector GGUF (gguf-py tensor_mapping.py: V_ENC_*,
// V_POST_NORM; constants.py names them v.*).
const LAYER_NAMES: Record<string, string> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.out_proj': 'attn_out',
  layer_norm1: 'ln1',
  layer_norm2: 'ln2',
  'mlp.fc1': 'ffn_up',
  'mlp.fc2': 'ffn_down',
};
const GLOBAL_NAMES: Record<string, string> = {
  'embeddings.patch_embedding': 'v.patch_embd',
  'embeddings.position_embedding': 'v.position_embd',
  post_layernorm: 'v.post_ln',
};
const VISION = /^(?:model\.)?vision_tower\.vision_model\.(.+)\.(weight|bias)$/;
const VISION_LAYER = /^encoder\.layers\.(\d+)\.(.+)$/;

/**
 * The projector GGUF's tensor for a Gemma3ForConditionalGeneration tensor
 * (Gemma3VisionModel in convert_hf_to_gguf): the SigLIP tower as v.*, the
 * projector as mm.*; text tensors belong to the text GGUF and are skipped.
 * The soft-embedding norm is a Gemma RMSNorm, so it gets +1 like the text
 * model's; SigLIP's LayerNorms do not.
 */
export function mapGemma3ProjectorTensor(name: string): TensorMapping | null | undefined {
  const projector =
    /^(?:model\.)?multi_modal_projector\.(mm_input_projection|mm_soft_emb_norm)[._]weight$/.exec(name);
  if (projector) {
    return projector[1] === 'mm_input_projection'
      ? { name: 'mm.input_projection.weight', source: name }
      : { name: 'mm.soft_emb_norm.weight', source: name, transform: { kind: 'add', value: 1 } };
  }
  const vision = VISION.exec(name);
  if (!vision) return /^(?:model\.)?(vision_tower|multi_modal_projector)\./.test(name) ? undefined : null;
  const [, part, suffix] = vision;
  // tinygemma3's redundant pooling head (Gemma3VisionModel.filter_tensors drops it too).
  if (part.startsWith('head.')) return null;
  const layer = VISION_LAYER.exec(part);
  if (layer) {
    const base = LAYER_NAMES[layer[2]];
    return base ? { name: `v.blk.${layer[1]}.${base}.${suffix}`, source: name } : undefined;
  }
  const base = GLOBAL_NAMES[part];
  return base ? { name: `${base}.${suffix}`, source: name } : undefined;
}

/**
 * Types the reference converter forces (Gemma3VisionModel.tensor_force_quant):
 * embeddings F32, the input projection F16 whatever the output type.
 */
export function gemma3ProjectorTensorType(name: string): GgmlType | undefined {
  if (name.startsWith('v.patch_embd.') || name.startsWith('v.position_embd.')) return GgmlType.F32;
  if (name === 'mm.input_projection.weight') return GgmlType.F16;
  return undefined;
}

function floats(config: HfConfig, key: string, expected: number): number[] {
  const value = config[key];
  if (!Array.isArray(value) || value.length !== expected || !value.every((v) => typeof v === 'number')) {
    throw new ConverterError(
      'BAD_CONFIG',
      `preprocessor_config.json's ${key} must be ${expected} numbers (one per color channel).`,
      { details: { key } },
    );
  }
  return value;
}

/**
 * The clip.* metadata llama.cpp's mtmd loader reads for Gemma 3's projector
 * (MmprojModel.set_gguf_parameters and Gemma3VisionModel's, clip-impl.h keys).
 */
export function gemma3ProjectorMetadata(config: HfConfig, preprocessor: HfConfig): GgufMetadataEntry[] {
  const vision = config.vision_config as HfConfig | undefined;
  const text = config.text_config as HfConfig | undefined;
  if (!vision || typeof vision !== 'object' || !text || typeof text !== 'object') {
    throw new ConverterError(
      'BAD_CONFIG',
      'config.json has no vision_config and text_config, so it has no vision projector to convert.',
      { details: { key: 'vision_config' } },
    );
  }
  const imageSize = requireCount(vision, ['image_size']);
  const patchSize = requireCount(vision, ['patch_size']);
  const entries = [
    ggufEntry.bool('clip.has_vision_encoder', true),
    ggufEntry.uint32('clip.vision.projection_dim', requireCount(text, ['hidden_size'])),
    ggufEntry.uint32('clip.vision.image_size', imageSize),
    ggufEntry.uint32('clip.vision.patch_size', patchSize),
    ggufEntry.uint32('clip.vision.embedding_length', requireCount(vision, ['hidden_size'])),
    ggufEntry.uint32('clip.vision.feed_forward_length', requireCount(vision, ['intermediate_size'])),
    ggufEntry.uint32('clip.vision.block_count', requireCount(vision, ['num_hidden_layers'])),
    ggufEntry.uint32('clip.vision.attention.head_count', requireCount(vision, ['num_attention_heads'])),
    ggufEntry.array('clip.vision.image_mean', GgufValueType.FLOAT32, floats(preprocessor, 'image_mean', 3)),
    ggufEntry.array('clip.vision.image_std', GgufValueType.FLOAT32, floats(preprocessor, 'image_std', 3)),
    ggufEntry.string('clip.projector_type', 'gemma3'),
    ggufEntry.float32(
      'clip.vision.attention.layer_norm_epsilon',
      optionalNumber(vision, ['layer_norm_eps']) ?? 1e-6,
    ),
    ggufEntry.bool('clip.use_gelu', true),
  ];
  // Image tokens per side after pooling; llama.cpp assumes a factor of 4 (896 / 14 / 16).
  const perSide = Math.floor(
    Math.sqrt(
      optionalNumber(preprocessor, ['image_seq_length']) ??
        optionalNumber(config, ['mm_tokens_per_image']) ??
        256,
    ),
  );
  const scale = Math.floor(imageSize / patchSize / perSide);
  if (scale > 0 && scale !== 4) entries.push(ggufEntry.uint32('clip.vision.projector.scale_factor', scale));
  return entries;
}
