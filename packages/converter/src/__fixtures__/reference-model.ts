// A reference forward pass for the fidelity tests, written from the Hugging
// Face modeling files (modeling_llama.py, modeling_mistral.py,
// modeling_qwen2.py, modeling_qwen3.py, modeling_phi3.py, modeling_gemma.py,
// modeling_gemma2.py, modeling_stablelm.py). It reads the checkpoint itself,
// keeps the HF tensor layout and names, uses rotate_half RoPE, and computes in
// float64. It shares no code with the converter on purpose: the converter's
// mistakes must not be repeated here.
import fs from 'node:fs';
import path from 'node:path';

// config.json is untyped JSON; the reference reads it the way Python does.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
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
function rope(config: Config, rotaryDims: number): { invFreq: Float64Array; scale: number } {
  const theta = config.rope_theta ?? 10000;
  const invFreq = new Float64Array(rotaryDims / 2).map((_, i) => 1 / theta ** ((2 * i) / rotaryDims));
  const scaling = config.rope_scaling;
  const type = scaling?.rope_type ?? scaling?.type;
  if (type === 'llama3') {
    // _compute_llama3_parameters
    const {
      factor,
      low_freq_factor: low,
      high_freq_factor: high,
      original_max_position_embeddings: old,
    } = scaling;
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
    for (let i = 0; i < invFreq.length; i++) invFreq[i] /= scaling.short_factor[i];
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

/** Loads a checkpoint for the reference forward pass. */
export function loadReferenceModel(dir: string): ReferenceModel {
  const config: Config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const W = loadWeights(dir);
  const get = (name: string) => {
    const t = W.get(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return t;
  };
  const type = config.model_type as string;
  const isGemma = type === 'gemma' || type === 'gemma2';
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = config.head_dim ?? hidden / heads;
  const rotaryDims =
    type === 'stablelm' ? Math.floor(headDim * (config.partial_rotary_factor ?? 0.25)) : headDim;
  const { invFreq, scale } = rope(config, rotaryDims);
  const eps = config.rms_norm_eps ?? config.layer_norm_eps;
  const norm = (x: Float64Array, prefix: string) =>
    type === 'stablelm'
      ? layerNorm(x, get(`${prefix}.weight`).data, get(`${prefix}.bias`).data, eps)
      : rmsNorm(x, get(`${prefix}.weight`).data, eps, isGemma);
  const attnScale = type === 'gemma2' ? config.query_pre_attn_scalar ** -0.5 : 1 / Math.sqrt(headDim);
  const act = isGemma ? geluTanh : silu;
  const embed = get('model.embed_tokens.weight');
  const head = W.get('lm_head.weight') ?? embed;
  const bias = (name: string) => W.get(name);

  function nextTokenProbabilities(tokens: number[]): Float64Array {
    let xs = tokens.map((t) => {
      const x = embed.data.slice(t * hidden, (t + 1) * hidden);
      // GemmaModel scales embeddings by sqrt(hidden_size).
      return isGemma ? x.map((v) => v * Math.sqrt(hidden)) : x;
    });
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const qs: Float64Array[] = [];
      const ks: Float64Array[] = [];
      const vs: Float64Array[] = [];
      xs.forEach((x, pos) => {
        const h = norm(x, `${p}.input_layernorm`);
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
        if (type === 'qwen3') {
          // Qwen3Attention: RMSNorm over each head of q and k before RoPE.
          for (let hh = 0; hh < heads; hh++)
            q.set(
              rmsNorm(
                q.slice(hh * headDim, (hh + 1) * headDim),
                get(`${p}.self_attn.q_norm.weight`).data,
                eps,
                false,
              ),
              hh * headDim,
            );
          for (let hh = 0; hh < kvHeads; hh++)
            k.set(
              rmsNorm(
                k.slice(hh * headDim, (hh + 1) * headDim),
                get(`${p}.self_attn.k_norm.weight`).data,
                eps,
                false,
              ),
              hh * headDim,
            );
        }
        for (let hh = 0; hh < heads; hh++) applyRope(q, hh * headDim, rotaryDims, pos, invFreq, scale);
        for (let hh = 0; hh < kvHeads; hh++) applyRope(k, hh * headDim, rotaryDims, pos, invFreq, scale);
        qs.push(q);
        ks.push(k);
        vs.push(v);
      });
      xs = xs.map((x, pos) => {
        const attn = new Float64Array(heads * headDim);
        for (let hh = 0; hh < heads; hh++) {
          const kvh = Math.floor(hh / (heads / kvHeads));
          const scores = new Float64Array(pos + 1);
          for (let j = 0; j <= pos; j++) {
            let s = 0;
            for (let d = 0; d < headDim; d++) s += qs[pos][hh * headDim + d] * ks[j][kvh * headDim + d];
            s *= attnScale;
            if (type === 'gemma2' && config.attn_logit_softcapping)
              s = Math.tanh(s / config.attn_logit_softcapping) * config.attn_logit_softcapping;
            scores[j] = s;
          }
          const max = Math.max(...scores);
          let sum = 0;
          for (let j = 0; j <= pos; j++) sum += scores[j] = Math.exp(scores[j] - max);
          for (let j = 0; j <= pos; j++)
            for (let d = 0; d < headDim; d++)
              attn[hh * headDim + d] += (scores[j] / sum) * vs[j][kvh * headDim + d];
        }
        let o = linear(attn, get(`${p}.self_attn.o_proj.weight`));
        if (type === 'gemma2') o = norm(o, `${p}.post_attention_layernorm`);
        const mid = x.map((v, i) => v + o[i]);
        const h2 = norm(
          mid,
          type === 'gemma2' ? `${p}.pre_feedforward_layernorm` : `${p}.post_attention_layernorm`,
        );
        let gate: Float64Array, up: Float64Array;
        if (type === 'phi3') {
          const both = linear(h2, get(`${p}.mlp.gate_up_proj.weight`));
          gate = both.slice(0, both.length / 2);
          up = both.slice(both.length / 2);
        } else {
          gate = linear(h2, get(`${p}.mlp.gate_proj.weight`));
          up = linear(h2, get(`${p}.mlp.up_proj.weight`));
        }
        let mlp = linear(
          gate.map((g, i) => act(g) * up[i]),
          get(`${p}.mlp.down_proj.weight`),
        );
        if (type === 'gemma2') mlp = norm(mlp, `${p}.post_feedforward_layernorm`);
        return mid.map((v, i) => v + mlp[i]);
      });
    }
    const last = norm(xs[xs.length - 1], 'model.norm');
    const logits = linear(last, head, bias('lm_head.bias'));
    if (type === 'gemma2' && config.final_logit_softcapping) {
      for (let i = 0; i < logits.length; i++)
        logits[i] = Math.tanh(logits[i] / config.final_logit_softcapping) * config.final_logit_softcapping;
    }
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += logits[i] = Math.exp(logits[i] - max);
    for (let i = 0; i < logits.length; i++) logits[i] /= sum;
    return logits;
  }
  return { config, nextTokenProbabilities };
}
