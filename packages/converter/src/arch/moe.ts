import { ggufEntry, type GgufMetadataEntry } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { optionalNumber, requireCount } from './hparams.js';
import { mapStandardTensor } from './layers.js';
import type { HfConfig, TensorMapping } from './types.js';

const EXPERT = /^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$/;
const EXPERT_NAMES: Record<string, string> = {
  gate_proj: 'ffn_gate_exps',
  up_proj: 'ffn_up_exps',
  down_proj: 'ffn_down_exps',
};

// The router and Qwen2-MoE's shared expert (tensor_mapping.py: FFN_GATE_INP,
// FFN_*_SHEXP, FFN_GATE_INP_SHEXP).
const MOE_LAYER_NAMES: Record<string, string> = {
  'mlp.gate': 'ffn_gate_inp',
  'mlp.shared_expert.gate_proj': 'ffn_gate_shexp',
  'mlp.shared_expert.up_proj': 'ffn_up_shexp',
  'mlp.shared_expert.down_proj': 'ffn_down_shexp',
  'mlp.shared_expert_gate': 'ffn_gate_inp_shexp',
};

/**
 * Qwen-style mixture-of-experts layers: each expert's projection becomes one
 * slice of a 3-D `ffn_*_exps` tensor (Qwen2MoeModel.modify_tensors stacks
 * them, expert 0 first); the rest is the standard layout.
 */
export function mapQwenMoeTensor(name: string, config: HfConfig): TensorMapping | null | undefined {
  const expert = EXPERT.exec(name);
  if (expert) {
    const [, layer, index, projection] = expert;
    return {
      name: `blk.${layer}.${EXPERT_NAMES[projection]}.weight`,
      source: name,
      stack: { index: Number(index), count: requireCount(config, ['num_experts']) },
    };
  }
  return mapStandardTensor(name, { layerNames: MOE_LAYER_NAMES });
}

/** Expert counts and sizes (TextModel.set_gguf_parameters and Qwen2MoeModel's). */
export function moeMetadata(arch: string, config: HfConfig): GgufMetadataEntry[] {
  const entries = [
    ggufEntry.uint32(`${arch}.expert_count`, requireCount(config, ['num_experts'])),
    ggufEntry.uint32(`${arch}.expert_used_count`, requireCount(config, ['num_experts_per_tok'])),
    ggufEntry.uint32(`${arch}.expert_feed_forward_length`, requireCount(config, ['moe_intermediate_size'])),
  ];
  const shared = optionalNumber(config, ['shared_expert_intermediate_size']);
  if (shared !== undefined)
    entries.push(
      ggufEntry.uint32(
        `${arch}.expert_shared_feed_forward_length`,
        requireCount(config, ['shared_expert_intermediate_size']),
      ),
    );
  return entries;
}

/**
 * What llama.cpp's qwen2moe and qwen3moe graphs assume: every layer sparse,
 * and the router's top-k weights renormalised or not as the graph hard-codes.
 */
export function checkQwenMoeConfig(config: HfConfig, renormalised: boolean, arch: string): void {
  const step = optionalNumber(config, ['decoder_sparse_step']) ?? 1;
  const denseLayers = Array.isArray(config.mlp_only_layers) ? config.mlp_only_layers : [];
  if (step !== 1 || denseLayers.length) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json makes some layers dense (decoder_sparse_step ${step}, mlp_only_layers [${denseLayers.join(', ')}]); llama.cpp's ${arch} expects experts in every layer.`,
      { details: { key: step !== 1 ? 'decoder_sparse_step' : 'mlp_only_layers' } },
    );
  }
  const norm = config.norm_topk_prob;
  if (typeof norm === 'boolean' && norm !== renormalised) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's norm_topk_prob is ${norm}, but llama.cpp's ${arch} ${renormalised ? 'always renormalises' : 'never renormalises'} the top-k expert weights.`,
      { details: { key: 'norm_topk_prob', value: norm, expected: renormalised } },
    );
  }
  const experts = requireCount(config, ['num_experts']);
  const used = requireCount(config, ['num_experts_per_tok']);
  if (used > experts) {
    throw new ConverterError(
      'BAD_CONFIG',
      `config.json's num_experts_per_tok is ${used}, more than num_experts (${experts}).`,
      { details: { key: 'num_experts_per_tok', value: used, limit: experts } },
    );
  }
}
