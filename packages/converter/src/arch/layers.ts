import type { TensorMapping, TensorTransform } from './types.js';

// Hugging Face per-layer tensor names and their llama.cpp names
// (gguf-py/gguf/tensor_mapping.py lists the same correspondences).
const DEFAULT_LAYER_NAMES: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'self_attn.qkv_proj': 'attn_qkv',
  'self_attn.q_norm': 'attn_q_norm',
  'self_attn.k_norm': 'attn_k_norm',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  'mlp.gate_up_proj': 'ffn_up',
};

const GLOBAL_NAMES: Record<string, string> = {
  'model.embed_tokens': 'token_embd',
  'model.norm': 'output_norm',
  lm_head: 'output',
};

const LAYER = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/;
const GLOBAL = /^(.+)\.(weight|bias)$/;

export interface LayerNameOptions {
  /** Overrides and additions to the per-layer name table. */
  layerNames?: Record<string, string>;
  /** A transform for some GGUF tensor names (without `blk.N.` and suffix). */
  transform?: (ggufBase: string, suffix: 'weight' | 'bias', hfName: string) => TensorTransform | undefined;
}

/**
 * Maps the standard decoder layout (model.embed_tokens, model.layers.N.*,
 * model.norm, lm_head) to GGUF names; undefined for anything else.
 */
export function mapStandardTensor(
  name: string,
  options: LayerNameOptions = {},
): TensorMapping | null | undefined {
  // Rotary caches some checkpoints carry; llama.cpp recomputes them.
  if (name.endsWith('.rotary_emb.inv_freq')) return null;
  const table = options.layerNames ? { ...DEFAULT_LAYER_NAMES, ...options.layerNames } : DEFAULT_LAYER_NAMES;
  const layer = LAYER.exec(name);
  if (layer) {
    const [, index, part, suffix] = layer;
    const base = table[part];
    if (!base) return undefined;
    const transform = options.transform?.(base, suffix as 'weight' | 'bias', name);
    return { name: `blk.${index}.${base}.${suffix}`, source: name, ...(transform ? { transform } : {}) };
  }
  const global = GLOBAL.exec(name);
  if (global && GLOBAL_NAMES[global[1]]) {
    const base = GLOBAL_NAMES[global[1]];
    const transform = options.transform?.(base, global[2] as 'weight' | 'bias', name);
    return { name: `${base}.${global[2]}`, source: name, ...(transform ? { transform } : {}) };
  }
  return undefined;
}
