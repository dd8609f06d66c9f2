import { ggufEntry, GgufValueType, type GgufMetadataEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { requireCount } from './hparams.js';
import type { HfConfig } from './types.js';

// A SigLIP vision tower's tensors (SiglipVisionModel; Idefics3's vision
// transformer has the same ones) below its prefix, and their names in
// llama.cpp's projector GGUF (gguf-py tensor_mapping.py: V_ENC_*,
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
const LAYER = /^encoder\.layers\.(\d+)\.(.+)$/;

/**
 * The projector GGUF's name for a tower tensor, given the part of its name
 * after the tower's prefix (`encoder.layers.0.mlp.fc1`) and its suffix;
 * undefined for a tensor the tower does not have.
 */
export function siglipTowerTensorName(part: string, suffix: string): string | undefined {
  const layer = LAYER.exec(part);
  if (layer) {
    const base = LAYER_NAMES[layer[2]];
    return base ? `v.blk.${layer[1]}.${base}.${suffix}` : undefined;
  }
  const base = GLOBAL_NAMES[part];
  return base ? `${base}.${suffix}` : undefined;
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
 * A vision-language config.json's vision_config, and its text settings
 * (text_config over the top level, as MmprojModel reads the text width), or
 * an error when it has no vision tower.
 */
export function visionLanguageConfigs(config: HfConfig): { vision: HfConfig; text: HfConfig } {
  const part = (key: string) => {
    const value = config[key];
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as HfConfig) : undefined;
  };
  const vision = part('vision_config');
  const text = part('text_config');
  if (!vision || !text) {
    throw new ConverterError(
      'BAD_CONFIG',
      'config.json has no vision_config and text_config, so it has no vision projector to convert.',
      { details: { key: 'vision_config' } },
    );
  }
  return { vision, text: { ...config, ...text } };
}

/**
 * The clip.* keys every vision projector has (MmprojModel.set_gguf_parameters
 * in convert_hf_to_gguf): the vision tower's shape from `vision`, the text
 * model's width as the projection size, and the image normalisation from
 * preprocessor_config.json.
 */
export function visionEncoderMetadata(
  vision: HfConfig,
  textHidden: number,
  preprocessor: HfConfig,
): GgufMetadataEntry[] {
  return [
    ggufEntry.bool('clip.has_vision_encoder', true),
    ggufEntry.uint32('clip.vision.projection_dim', textHidden),
    ggufEntry.uint32('clip.vision.image_size', requireCount(vision, ['image_size'])),
    ggufEntry.uint32('clip.vision.patch_size', requireCount(vision, ['patch_size'])),
    ggufEntry.uint32('clip.vision.embedding_length', requireCount(vision, ['hidden_size'])),
    ggufEntry.uint32('clip.vision.feed_forward_length', requireCount(vision, ['intermediate_size'])),
    ggufEntry.uint32('clip.vision.block_count', requireCount(vision, ['num_hidden_layers'])),
    ggufEntry.uint32('clip.vision.attention.head_count', requireCount(vision, ['num_attention_heads'])),
    ggufEntry.array('clip.vision.image_mean', GgufValueType.FLOAT32, floats(preprocessor, 'image_mean', 3)),
    ggufEntry.array('clip.vision.image_std', GgufValueType.FLOAT32, floats(preprocessor, 'image_std', 3)),
  ];
}
