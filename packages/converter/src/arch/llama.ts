import { decoderMetadata } from './common-metadata.js';
import { attentionShape, optionalNumber, ropeScaling } from './hparams.js';
import { mapStandardTensor } from './layers.js';
import type { ArchitectureModule, ComputedTensor, HfConfig, TensorMapping } from './types.js';

/**
 * The Q/K permutation for the llama family: q uses the attention head count,
 * k the key-value head count (LlamaModel.modify_tensors in convert_hf_to_gguf).
 */
export function mapLlamaTensor(name: string, config: HfConfig): TensorMapping | null | undefined {
  const { heads, kvHeads } = attentionShape(config);
  return mapStandardTensor(name, {
    transform: (base) =>
      base === 'attn_q'
        ? { kind: 'permute-heads', heads }
        : base === 'attn_k'
          ? { kind: 'permute-heads', heads: kvHeads }
          : undefined,
  });
}

/**
 * Llama 3.1+ RoPE scaling as per-frequency divisors (the `rope_freqs` tensor
 * llama.cpp multiplies into theta), following transformers'
 * _compute_llama3_parameters and LlamaModel.generate_extra_tensors.
 */
export function llama3RopeFactors(config: HfConfig): ComputedTensor[] {
  const scaling = ropeScaling(config);
  if (scaling?.rope_type !== 'llama3') return [];
  const { headDim } = attentionShape(config);
  const base = optionalNumber(config, ['rope_theta']) ?? (scaling.rope_theta as number | undefined) ?? 10000;
  const factor = (scaling.factor as number | undefined) ?? 8;
  const lowFreqFactor = (scaling.low_freq_factor as number | undefined) ?? 1;
  const highFreqFactor = (scaling.high_freq_factor as number | undefined) ?? 4;
  const oldContext = (scaling.original_max_position_embeddings as number | undefined) ?? 8192;
  const lowFreqWavelen = oldContext / lowFreqFactor;
  const highFreqWavelen = oldContext / highFreqFactor;
  const data = new Float32Array(headDim / 2);
  for (let i = 0; i < data.length; i++) {
    // The frequency in float32, as torch computes it in the reference.
    const freq = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / headDim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) data[i] = 1;
    else if (wavelen > lowFreqWavelen) data[i] = factor;
    else {
      const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      data[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return [{ name: 'rope_freqs.weight', data }];
}

/** LlamaForCausalLM: Llama 2, 3, 3.1, 3.2 and TinyLlama. */
export const llamaArchitecture: ArchitectureModule = {
  hfArchitectures: ['LlamaForCausalLM'],
  ggufArchitecture: 'llama',
  metadata: (config) => decoderMetadata('llama', config),
  mapTensor: mapLlamaTensor,
  computedTensors: llama3RopeFactors,
};
