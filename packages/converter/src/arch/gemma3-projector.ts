import { GgmlType, ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import { optionalNumber, requireCount } from './hparams.js';
import { siglipTowerTensorName, visionEncoderMetadata, visionLanguageConfigs } from './siglip.js';
import type { HfConfig, TensorMapping } from './types.js';

const VISION = /^(?:model\.)?vision_tower\.vision_model\.(.+)\.(weight|bias)$/;

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
  const mapped = siglipTowerTensorName(part, suffix);
  return mapped ? { name: mapped, source: name } : undefined;
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

/**
 * The clip.* metadata llama.cpp's mtmd loader reads for Gemma 3's projector
 * (MmprojModel.set_gguf_parameters and Gemma3VisionModel's, clip-impl.h keys).
 */
export function gemma3ProjectorMetadata(config: HfConfig, preprocessor: HfConfig): GgufMetadataEntry[] {
  const { vision, text } = visionLanguageConfigs(config);
  const imageSize = requireCount(vision, ['image_size']);
  const patchSize = requireCount(vision, ['patch_size']);
  const entries = [
    ...visionEncoderMetadata(vision, requireCount(text, ['hidden_size']), preprocessor),
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
