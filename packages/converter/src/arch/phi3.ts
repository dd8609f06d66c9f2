import { ggufEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { decoderMetadata } from './common-metadata.js';
import { attentionShape, optionalNumber, requireCount, ropeScaling } from './hparams.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule, ComputedTensor, HfConfig } from './types.js';

function ropeDims(config: HfConfig): number {
  const { headDim } = attentionShape(config);
  return Math.floor((optionalNumber(config, ['partial_rotary_factor']) ?? 1) * headDim);
}

/**
 * LongRoPE (Phi-3 128k): the short and long per-frequency factors as
 * rope_factors_short/long, and the attention factor sqrt(1 + ln(s)/ln(n0))
 * (Phi3MiniModel.generate_extra_tensors in convert_hf_to_gguf).
 */
function longRope(config: HfConfig): { attnFactor: number; long: number[]; short: number[] } | undefined {
  const scaling = ropeScaling(config);
  if (!scaling || !Array.isArray(scaling.long_factor)) return undefined;
  if (scaling.rope_type !== 'longrope' && scaling.rope_type !== 'su') {
    throw new ConverterError(
      'BAD_CONFIG',
      `Phi-3 rope_scaling type ${String(scaling.rope_type)} is not supported (only longrope).`,
    );
  }
  const long = scaling.long_factor as number[];
  const short = scaling.short_factor as number[];
  if (!Array.isArray(short) || long.length !== short.length || long.length !== ropeDims(config) / 2) {
    throw new ConverterError(
      'BAD_CONFIG',
      `Phi-3 rope_scaling needs long_factor and short_factor of length ${ropeDims(config) / 2}.`,
    );
  }
  const max = requireCount(config, ['max_position_embeddings']);
  const original = requireCount(config, ['original_max_position_embeddings']);
  const scale = max / original;
  const attnFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(original)) : 1;
  return { attnFactor, long, short };
}

/** Phi3ForCausalLM: fused qkv (attn_qkv) and gate_up (ffn_up) projections, LongRoPE. */
export const phi3Architecture: ArchitectureModule = {
  hfArchitectures: ['Phi3ForCausalLM'],
  ggufArchitecture: 'phi3',
  metadata: (config) => {
    const entries = decoderMetadata('phi3', config, { ropeDims: ropeDims(config) });
    const original = optionalNumber(config, ['original_max_position_embeddings']);
    if (original) entries.push(ggufEntry.uint32('phi3.rope.scaling.original_context_length', original));
    // 0 tells llama.cpp there is no window (Phi-4), as the reference converter does.
    entries.push(
      ggufEntry.uint32('phi3.attention.sliding_window', optionalNumber(config, ['sliding_window']) ?? 0),
    );
    const rope = longRope(config);
    if (rope) entries.push(ggufEntry.float32('phi3.rope.scaling.attn_factor', rope.attnFactor));
    return entries;
  },
  mapTensor: (name) => mapStandardTensor(name),
  computedTensors: (config): ComputedTensor[] => {
    const rope = longRope(config);
    if (!rope) return [];
    return [
      { name: 'rope_factors_long.weight', data: Float32Array.from(rope.long) },
      { name: 'rope_factors_short.weight', data: Float32Array.from(rope.short) },
    ];
  },
};
