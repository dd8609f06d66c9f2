import { GgmlType, ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { optionalNumber, requireCount } from './hparams.js';
import { siglipTowerTensorName, visionEncoderMetadata, visionLanguageConfigs } from './siglip.js';
import type { HfConfig, TensorMapping } from './types.js';

const VISION = /^model\.vision_model\.(.+)\.(weight|bias)$/;

/**
 * The projector GGUF's tensor for an Idefics3ForConditionalGeneration
 * (SmolVLM) tensor (SmolVLMModel in convert_hf_to_gguf): the tower under
 * model.vision_model as v.*, the connector's linear layer as mm.model.fc;
 * the text model (model.text_model, lm_head) belongs to the text GGUF.
 */
export function mapIdefics3ProjectorTensor(name: string): TensorMapping | null | undefined {
  if (name === 'model.connector.modality_projection.proj.weight')
    return { name: 'mm.model.fc.weight', source: name };
  const vision = VISION.exec(name);
  if (!vision) return /^model\.(vision_model|connector)\./.test(name) ? undefined : null;
  const mapped = siglipTowerTensorName(vision[1], vision[2]);
  return mapped ? { name: mapped, source: name } : undefined;
}

/**
 * Types the reference converter forces (SmolVLMModel.tensor_force_quant):
 * the embeddings, patch and position, F32 whatever the output type.
 */
export function idefics3ProjectorTensorType(name: string): GgmlType | undefined {
  return name.startsWith('v.patch_embd.') || name.startsWith('v.position_embd.') ? GgmlType.F32 : undefined;
}

// SmolVLM's own is 2048; llama.cpp resizes every image to it before tiling.
const MAX_LONGEST_EDGE = 16384;

// SmolVLM2's vision_config (model_type smolvlm_vision) leaves out these;
// the values are transformers' defaults, as SmolVLMModel fills them in.
const SMOLVLM2_VISION_DEFAULTS: HfConfig = {
  hidden_size: 1152,
  num_attention_heads: 16,
  intermediate_size: 3072,
};

/**
 * The clip.* metadata llama.cpp's mtmd loader reads for the idefics3
 * projector (MmprojModel.set_gguf_parameters and SmolVLMModel's): the
 * pixel-shuffle factor (config.json's scale_factor) and the longest edge
 * images are resized to before tiling (preprocessor_config.json's
 * size.longest_edge).
 */
export function idefics3ProjectorMetadata(config: HfConfig, preprocessor: HfConfig): GgufMetadataEntry[] {
  const configs = visionLanguageConfigs(config);
  const vision =
    configs.vision.model_type === 'smolvlm_vision'
      ? { ...SMOLVLM2_VISION_DEFAULTS, ...configs.vision }
      : configs.vision;
  const imageSize = requireCount(vision, ['image_size']);
  const perSide = imageSize / requireCount(vision, ['patch_size']);
  const scale = optionalNumber(config, ['scale_factor']) ?? 2;
  // The pixel shuffle folds scale x scale patches into one token: it must divide the patch grid.
  if (!Number.isSafeInteger(scale) || scale <= 0 || !Number.isInteger(perSide / scale)) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's scale_factor is ${scale}, which does not divide the ${perSide} patches a side of vision_config (image_size / patch_size).`,
      { details: { key: 'scale_factor', value: scale } },
    );
  }
  const size = preprocessor.size;
  const longestEdge =
    (size && typeof size === 'object' && !Array.isArray(size)
      ? optionalNumber(size as HfConfig, ['longest_edge'])
      : undefined) ?? imageSize;
  if (!Number.isSafeInteger(longestEdge) || longestEdge <= 0 || longestEdge > MAX_LONGEST_EDGE) {
    throw new ConverterError(
      'BAD_CONFIG',
      `preprocessor_config.json's size.longest_edge is ${longestEdge}; it must be a whole number of pixels from 1 to ${MAX_LONGEST_EDGE}.`,
      { details: { key: 'size.longest_edge', value: longestEdge } },
    );
  }
  return [
    ...visionEncoderMetadata(vision, requireCount(configs.text, ['hidden_size']), preprocessor),
    ggufEntry.string('clip.projector_type', 'idefics3'),
    ggufEntry.float32(
      'clip.vision.attention.layer_norm_epsilon',
      optionalNumber(vision, ['layer_norm_eps']) ?? 1e-5,
    ),
    ggufEntry.uint32('clip.vision.projector.scale_factor', scale),
    ggufEntry.bool('clip.use_gelu', true),
    ggufEntry.uint32('clip.vision.preproc_image_size', longestEdge),
  ];
}
