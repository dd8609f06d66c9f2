// A reference forward pass for the fidelity tests, written from the Hugging
// Face modeling files (modeling_llama.py, modeling_mistral.py,
// modeling_qwen2.py, modeling_qwen3.py, modeling_phi3.py, modeling_gemma.py,
// modeling_gemma2.py, modeling_stablelm.py). The newer families (Gemma 3,
// SmolLM3, Granite, OLMo 2, Qwen2-MoE, Qwen3-MoE) are written from our
// understanding of those architectures, checked against llama.cpp's graphs
// (src/models/gemma3.cpp, smollm3.cpp, granite.cpp, olmo2.cpp, qwen2moe.cpp,
// qwen3moe.cpp), as their modeling files were not at hand. It reads the
// checkpoint itself, keeps the HF tensor layout and names, uses rotate_half
// RoPE, and computes in float64. It shares no code with the converter on
// purpose: the converter's mistakes must not be repeated here.
import fs from 'node:fs';
import path from 'node:path';

// config.json is untyped JSON; the reference reads it the way Python does (a
// missing key fails where it is used), on purpose sharing no typed config with
// the converter, whose mistakes it must not repeat.
/* eslint-disable @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- see above */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type Config = Record<string, any>;

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Every tensor of the checkpoint as float64, by its HF name, with its HF shape. */
function loadWeights(dir: string): Map<string, { shape: number[]; data: Float64Array }> {
  const files = fs.existsSync(path.join(dir, 'model.safetensors.index.json'))
    ? [
        ...new Set(
          Object.values(
            JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'))
              .weight_map as Record<string, string>,
          ),
        ),
      ]
    : ['model.safetensors'];
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const file of files) {
    const bytes = fs.readFileSync(path.join(dir, file));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    for (const [name, info] of Object.entries<{
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    }>(header)) {
      if (name === '__metadata__') continue;
      const [begin, end] = info.data_offsets;
      const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
      const count = info.shape.reduce((a: number, b: number) => a * b, 1);
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        if (info.dtype === 'F32') data[i] = raw.readFloatLE(i * 4);
        else if (info.dtype === 'F16') data[i] = halfToNumber(raw.readUInt16LE(i * 2));
        else if (info.dtype === 'BF16')
          data[i] = new Float32Array(new Uint32Array([raw.readUInt16LE(i * 2) << 16]).buffer)[0];
        else throw new Error(`reference: dtype ${info.dtype}`);
      }
      out.set(name, { shape: info.shape, data });
    }
  }
  return out;
}

/** y = W x (+ b) for W of shape [out, in] (nn.Linear). */
function linear(
  x: Float64Array,
  w: { shape: number[]; data: Float64Array },
  b?: { data: Float64Array },
): Float64Array {
  const [rows, cols] = w.shape;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += w.data[o + c] * x[c];
    y[r] = s + (b ? b.data[r] : 0);
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number, plusOne: boolean): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const scale = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * scale * (plusOne ? 1 + w[i] : w[i]));
}

function layerNorm(x: Float64Array, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  const scale = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * scale * w[i] + b[i]);
}

const silu = (v: number) => v / (1 + Math.exp(-v));
// gelu_pytorch_tanh (transformers activations.py PytorchGELUTanh).
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** inv_freq and the cos/sin scale, as the transformers RoPE init functions compute them. */
function rope(
  config: Config,
  rotaryDims: number,
  theta: number = config.rope_theta ?? 10000,
  scaling: Config | null | undefined = config.rope_scaling,
): { invFreq: Float64Array; scale: number } {
  const invFreq = new Float64Array(rotaryDims / 2).map((_, i) => 1 / theta ** ((2 * i) / rotaryDims));
  const type = scaling?.rope_type ?? scaling?.type;
  if (type === 'linear') {
    // _compute_linear_scaling_rope_parameters: positions divided by the factor.
    for (let i = 0; i < invFreq.length; i++) invFreq[i] /= scaling!.factor;
    return { invFreq, scale: 1 };
  }
  if (type === 'llama3') {
    // _compute_llama3_parameters
    const {
      factor,
      low_freq_factor: low,
      high_freq_factor: high,
      original_max_position_embeddings: old,
    } = scaling!;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < invFreq.length; i++) {
      const wavelen = (2 * Math.PI) / invFreq[i];
      if (wavelen > lowWavelen) invFreq[i] /= factor;
      else if (wavelen >= highWavelen) {
        const smooth = (old / wavelen - low) / (high - low);
        invFreq[i] = (1 - smooth) * (invFreq[i] / factor) + smooth * invFreq[i];
      }
    }
    return { invFreq, scale: 1 };
  }
  if (type === 'longrope') {
    // _compute_longrope_parameters, short context (prompts are far below original_max_position_embeddings).
    const original = config.original_max_position_embeddings;
    const factor = config.max_position_embeddings / original;
    const scale = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
    for (let i = 0; i < invFreq.length; i++) invFreq[i] /= scaling!.short_factor[i];
    return { invFreq, scale };
  }
  return { invFreq, scale: 1 };
}

/** apply_rotary_pos_emb with rotate_half on the first `rotaryDims` of a head. */
function applyRope(
  v: Float64Array,
  offset: number,
  rotaryDims: number,
  position: number,
  invFreq: Float64Array,
  scale: number,
): void {
  const half = rotaryDims / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * invFreq[i];
    const cos = Math.cos(angle) * scale;
    const sin = Math.sin(angle) * scale;
    const x1 = v[offset + i];
    const x2 = v[offset + i + half];
    v[offset + i] = x1 * cos - x2 * sin;
    v[offset + i + half] = x2 * cos + x1 * sin;
  }
}

export interface ReferenceModel {
  config: Config;
  /** Next-token probabilities after the whole token sequence. */
  nextTokenProbabilities(tokens: number[]): Float64Array;
}

/** softmax in place. */
function softmax(v: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] = Math.exp(v[i] - max);
  for (let i = 0; i < v.length; i++) v[i] /= sum;
  return v;
}

/** Loads a checkpoint for the reference forward pass. */
export function loadReferenceModel(dir: string): ReferenceModel {
  const raw: Config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  // Gemma3ForConditionalGeneration: the text model's settings are under text_config.
  const config: Config = raw.text_config ? { ...raw, ...raw.text_config } : raw;
  const W = loadWeights(dir);
  // ... and its tensors under language_model (Gemma 3), or model.text_model (SmolVLM, whose lm_head stays).
  const prefix = W.has('language_model.model.embed_tokens.weight') ? 'language_model.' : '';
  const textModel = W.has('model.text_model.embed_tokens.weight');
  const stored = (name: string) =>
    textModel ? name.replace(/^model\./, 'model.text_model.') : prefix + name;
  const get = (name: string) => {
    const t = W.get(stored(name));
    if (!t) throw new Error(`reference: missing ${stored(name)}`);
    return t;
  };
  const bias = (name: string) => W.get(stored(name));
  const type = (config.model_type as string).replace(/_text$/, '');
  const isGemma = type === 'gemma' || type === 'gemma2' || type === 'gemma3';
  const sandwich = type === 'gemma2' || type === 'gemma3';
  const moe = type === 'qwen2_moe' || type === 'qwen3_moe';
  const headNorms = type === 'qwen3' || type === 'qwen3_moe' || type === 'gemma3';
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = type === 'granite' ? hidden / heads : (config.head_dim ?? hidden / heads);
  const rotaryDims =
    type === 'stablelm' ? Math.floor(headDim * (config.partial_rotary_factor ?? 0.25)) : headDim;
  // Per layer: RoPE frequencies (none for SmolLM3's NoPE layers) and the attention window.
  const layerRope = Array.from({ length: config.num_hidden_layers }, (_, l) => {
    if (type === 'smollm3' && config.no_rope_layers?.[l] === 0) return undefined;
    if (type === 'gemma3' && config.layer_types[l] === 'sliding_attention')
      return rope(config, rotaryDims, config.rope_local_base_freq, null);
    return rope(config, rotaryDims);
  });
  const window = (l: number) =>
    type === 'gemma3' && config.layer_types[l] === 'sliding_attention' ? config.sliding_window : Infinity;
  const eps = config.rms_norm_eps ?? config.layer_norm_eps;
  const norm = (x: Float64Array, name: string) =>
    type === 'stablelm'
      ? layerNorm(x, get(`${name}.weight`).data, get(`${name}.bias`).data, eps)
      : rmsNorm(x, get(`${name}.weight`).data, eps, isGemma);
  const attnScale = sandwich
    ? config.query_pre_attn_scalar ** -0.5
    : type === 'granite'
      ? config.attention_multiplier
      : 1 / Math.sqrt(headDim);
  const residualScale = type === 'granite' ? config.residual_multiplier : 1;
  const act = isGemma ? geluTanh : silu;
  const embed = get('model.embed_tokens.weight');
  const head = W.get(stored('lm_head.weight')) ?? embed;

  const mlp = (x: Float64Array, p: string): Float64Array => {
    let gate: Float64Array, up: Float64Array;
    if (type === 'phi3') {
      const both = linear(x, get(`${p}.gate_up_proj.weight`));
      gate = both.slice(0, both.length / 2);
      up = both.slice(both.length / 2);
    } else {
      gate = linear(x, get(`${p}.gate_proj.weight`));
      up = linear(x, get(`${p}.up_proj.weight`));
    }
    return linear(
      gate.map((g, i) => act(g) * up[i]),
      get(`${p}.down_proj.weight`),
    );
  };

  // Qwen2MoeSparseMoeBlock / Qwen3MoeSparseMoeBlock: softmax over the
  // router's logits, the top-k experts weighted by their probabilities
  // (renormalised to sum to 1 when norm_topk_prob), plus Qwen2-MoE's shared
  // expert scaled by sigmoid(shared_expert_gate).
  const experts = (x: Float64Array, p: string): Float64Array => {
    const probabilities = softmax(linear(x, get(`${p}.mlp.gate.weight`)));
    const order = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a]);
    const chosen = order.slice(0, config.num_experts_per_tok);
    const total = chosen.reduce((sum, e) => sum + probabilities[e], 0);
    const out = new Float64Array(hidden);
    for (const e of chosen) {
      const weight = config.norm_topk_prob ? probabilities[e] / total : probabilities[e];
      const y = mlp(x, `${p}.mlp.experts.${e}`);
      for (let i = 0; i < hidden; i++) out[i] += weight * y[i];
    }
    if (W.has(stored(`${p}.mlp.shared_expert_gate.weight`))) {
      const gate = 1 / (1 + Math.exp(-linear(x, get(`${p}.mlp.shared_expert_gate.weight`))[0]));
      const y = mlp(x, `${p}.mlp.shared_expert`);
      for (let i = 0; i < hidden; i++) out[i] += gate * y[i];
    }
    return out;
  };

  const perHeadNorm = (v: Float64Array, count: number, weight: string) => {
    for (let hh = 0; hh < count; hh++)
      v.set(rmsNorm(v.slice(hh * headDim, (hh + 1) * headDim), get(weight).data, eps, isGemma), hh * headDim);
  };

  function nextTokenProbabilities(tokens: number[]): Float64Array {
    let xs = tokens.map((t) => {
      const x = embed.data.slice(t * hidden, (t + 1) * hidden);
      // GemmaModel scales embeddings by sqrt(hidden_size); Granite by embedding_multiplier.
      if (isGemma) return x.map((v) => v * Math.sqrt(hidden));
      if (type === 'granite') return x.map((v) => v * config.embedding_multiplier);
      return x;
    });
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const qs: Float64Array[] = [];
      const ks: Float64Array[] = [];
      const vs: Float64Array[] = [];
      xs.forEach((x, pos) => {
        // OLMo 2 has no norm before attention.
        const h = type === 'olmo2' ? x : norm(x, `${p}.input_layernorm`);
        let q: Float64Array, k: Float64Array, v: Float64Array;
        if (type === 'phi3') {
          const qkv = linear(h, get(`${p}.self_attn.qkv_proj.weight`));
          q = qkv.slice(0, heads * headDim);
          k = qkv.slice(heads * headDim, (heads + kvHeads) * headDim);
          v = qkv.slice((heads + kvHeads) * headDim);
        } else {
          q = linear(h, get(`${p}.self_attn.q_proj.weight`), bias(`${p}.self_attn.q_proj.bias`));
          k = linear(h, get(`${p}.self_attn.k_proj.weight`), bias(`${p}.self_attn.k_proj.bias`));
          v = linear(h, get(`${p}.self_attn.v_proj.weight`), bias(`${p}.self_attn.v_proj.bias`));
        }
        if (headNorms) {
          // Qwen3Attention, Gemma3Attention: RMSNorm over each head of q and k before RoPE.
          perHeadNorm(q, heads, `${p}.self_attn.q_norm.weight`);
          perHeadNorm(k, kvHeads, `${p}.self_attn.k_norm.weight`);
        }
        if (type === 'olmo2') {
          // Olmo2Attention: RMSNorm over the whole q and k projections.
          q = rmsNorm(q, get(`${p}.self_attn.q_norm.weight`).data, eps, false);
          k = rmsNorm(k, get(`${p}.self_attn.k_norm.weight`).data, eps, false);
        }
        const r = layerRope[l];
        if (r) {
          for (let hh = 0; hh < heads; hh++) applyRope(q, hh * headDim, rotaryDims, pos, r.invFreq, r.scale);
          for (let hh = 0; hh < kvHeads; hh++)
            applyRope(k, hh * headDim, rotaryDims, pos, r.invFreq, r.scale);
        }
        qs.push(q);
        ks.push(k);
        vs.push(v);
      });
      xs = xs.map((x, pos) => {
        const attn = new Float64Array(heads * headDim);
        // Sliding-window layers see the last `window` positions, this one included.
        const first = Math.max(0, pos - window(l) + 1);
        for (let hh = 0; hh < heads; hh++) {
          const kvh = Math.floor(hh / (heads / kvHeads));
          const scores = new Float64Array(pos + 1 - first);
          for (let j = first; j <= pos; j++) {
            let s = 0;
            for (let d = 0; d < headDim; d++) s += qs[pos][hh * headDim + d] * ks[j][kvh * headDim + d];
            s *= attnScale;
            if (type === 'gemma2' && config.attn_logit_softcapping)
              s = Math.tanh(s / config.attn_logit_softcapping) * config.attn_logit_softcapping;
            scores[j - first] = s;
          }
          softmax(scores);
          for (let j = first; j <= pos; j++)
            for (let d = 0; d < headDim; d++)
              attn[hh * headDim + d] += scores[j - first] * vs[j][kvh * headDim + d];
        }
        let o = linear(attn, get(`${p}.self_attn.o_proj.weight`));
        if (sandwich || type === 'olmo2') o = norm(o, `${p}.post_attention_layernorm`);
        const mid = x.map((v, i) => v + residualScale * o[i]);
        const h2 =
          type === 'olmo2'
            ? mid
            : norm(mid, sandwich ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`);
        let out = moe ? experts(h2, p) : mlp(h2, `${p}.mlp`);
        if (sandwich || type === 'olmo2') out = norm(out, `${p}.post_feedforward_layernorm`);
        return mid.map((v, i) => v + residualScale * out[i]);
      });
    }
    const last = norm(xs[xs.length - 1], 'model.norm');
    const logits = linear(last, head, bias('lm_head.bias'));
    if (type === 'granite') for (let i = 0; i < logits.length; i++) logits[i] /= config.logits_scaling;
    if (sandwich && config.final_logit_softcapping) {
      for (let i = 0; i < logits.length; i++)
        logits[i] = Math.tanh(logits[i] / config.final_logit_softcapping) * config.final_logit_softcapping;
    }
    return softmax(logits);
  }
  return { config, nextTokenProbabilities };
}
