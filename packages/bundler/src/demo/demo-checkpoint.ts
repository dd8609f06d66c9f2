import { writeSafetensors, type SafetensorsEntry } from '@alki/converter';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

// The built-in demo model: a tiny llama checkpoint in the Hugging Face layout
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json),
// generated from a fixed seed, so every machine makes the same bytes.
//
// Its tokenizer is a SentencePiece-style BPE (tokenizer.ggml.model = llama),
// so no pre-tokenizer hash is involved (a new byte-level BPE would need one
// that llama.cpp knows, see convert_hf_to_gguf.py get_vocab_base_pre). It has
// a byte-fallback token for each of the 256 bytes: llama.cpp encodes any
// character without a piece as its UTF-8 bytes and aborts the process
// (std::out_of_range from llama_vocab::byte_to_token) when one is missing,
// so text with a single non-ASCII character would kill the server.
// The output rows of the bytes 0x80-0xFF are zero: their logit is 0 while
// about half of the ASCII pieces score above it, so sampling (top-k 40 by
// default in llama-server) and greedy decoding keep to ASCII, and random
// weights never generate invalid UTF-8 (llama-server answers 500 to that).

/** Dimensions: rows of 256 (QK_K) so the K-quant mixes quantize every matrix, not a fallback. */
const HIDDEN = 256;
const INTERMEDIATE = 512;
const LAYERS = 2;
const HEADS = 4;
const KV_HEADS = 2;
const CONTEXT = 512;
const SEED = 'alki-demo-v1';
/** Small weights keep activations in range through the layers. */
const WEIGHT_SCALE = 0.08;

const SPACE = '\u2581';
const SPECIAL = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
// Frequent English pairs, so the merges do something a person can see.
const MERGES: Array<[string, string]> = [
  [SPACE, 't'],
  ['h', 'e'],
  ['i', 'n'],
  ['e', 'r'],
  ['a', 'n'],
  [SPACE, 'a'],
  ['o', 'n'],
  ['r', 'e'],
  ['a', 't'],
  ['e', 'n'],
  [SPACE + 't', 'he'],
  ['e', 'd'],
  ['n', 'd'],
  ['o', 'u'],
  ['i', 's'],
  ['o', 'r'],
  ['i', 't'],
  ['e', 's'],
  [SPACE, 's'],
  [SPACE, 'w'],
  ['in', 'g'],
  [SPACE, 'o'],
  ['a', 'r'],
  ['l', 'l'],
  [SPACE, 'i'],
  [SPACE, 'b'],
  [SPACE, 'c'],
  [SPACE, 'f'],
  ['t', 'h'],
  [SPACE, 'h'],
];

export const DEMO_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The byte-fallback piece of a byte, as SentencePiece names it: `<0x0A>`. */
function bytePiece(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** The vocabulary: special tokens, a byte fallback for every byte, the space mark, printable ASCII, merges. */
export function demoVocabulary(): { tokens: string[]; merges: string[] } {
  const tokens = [...SPECIAL];
  for (let byte = 0; byte < 0x100; byte++) tokens.push(bytePiece(byte));
  tokens.push(SPACE);
  for (let code = 0x21; code <= 0x7e; code++) tokens.push(String.fromCharCode(code));
  for (const [left, right] of MERGES) tokens.push(left + right);
  return { tokens, merges: MERGES.map(([left, right]) => `${left} ${right}`) };
}

// Weights come from SHA-256 in counter mode over the tensor name: seeded,
// the same on every machine and Node version, and each tensor independent of
// the others. 32 bytes give eight uniform values in [-1, 1).
function seededValues(name: string, shape: number[], kind: 'weight' | 'norm'): Float32Array {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (kind === 'norm') values.fill(1);
  else {
    for (let block = 0; block * 8 < values.length; block++) {
      const digest = createHash('sha256').update(`${SEED}:${name}:${block}`).digest();
      for (let i = 0; i < 8 && block * 8 + i < values.length; i++)
        values[block * 8 + i] = (digest.readUInt32LE(i * 4) / 2 ** 31 - 1) * WEIGHT_SCALE;
    }
  }
  return values;
}

function tensor(
  name: string,
  shape: number[],
  kind: 'weight' | 'norm',
  data = seededValues(name, shape, kind),
): SafetensorsEntry {
  return { name, dtype: 'F32', shape, data: new Uint8Array(data.buffer) };
}

function tokenizerJson(tokens: string[], merges: string[]): unknown {
  const added = SPECIAL.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges,
    },
  };
}

/**
 * Writes the demo checkpoint into `dir` (which must exist): about 1.4 million
 * parameters of seeded random F32 weights, with a ChatML chat template.
 *
 * @example
 * await writeDemoCheckpoint('/tmp/alki-demo');
 */
export async function writeDemoCheckpoint(dir: string): Promise<void> {
  const { tokens, merges } = demoVocabulary();
  const vocab = tokens.length;
  const headDim = HIDDEN / HEADS;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: HIDDEN,
    intermediate_size: INTERMEDIATE,
    num_hidden_layers: LAYERS,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    max_position_embeddings: CONTEXT,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    vocab_size: vocab,
    bos_token_id: 1,
    eos_token_id: 4,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    torch_dtype: 'float32',
  };
  const entries: SafetensorsEntry[] = [tensor('model.embed_tokens.weight', [vocab, HIDDEN], 'weight')];
  for (let layer = 0; layer < LAYERS; layer++) {
    const prefix = `model.layers.${layer}`;
    entries.push(
      tensor(`${prefix}.input_layernorm.weight`, [HIDDEN], 'norm'),
      tensor(`${prefix}.self_attn.q_proj.weight`, [HIDDEN, HIDDEN], 'weight'),
      tensor(`${prefix}.self_attn.k_proj.weight`, [KV_HEADS * headDim, HIDDEN], 'weight'),
      tensor(`${prefix}.self_attn.v_proj.weight`, [KV_HEADS * headDim, HIDDEN], 'weight'),
      tensor(`${prefix}.self_attn.o_proj.weight`, [HIDDEN, HIDDEN], 'weight'),
      tensor(`${prefix}.post_attention_layernorm.weight`, [HIDDEN], 'norm'),
      tensor(`${prefix}.mlp.gate_proj.weight`, [INTERMEDIATE, HIDDEN], 'weight'),
      tensor(`${prefix}.mlp.up_proj.weight`, [INTERMEDIATE, HIDDEN], 'weight'),
      tensor(`${prefix}.mlp.down_proj.weight`, [HIDDEN, INTERMEDIATE], 'weight'),
    );
  }
  const output = seededValues('lm_head.weight', [vocab, HIDDEN], 'weight');
  for (let byte = 0x80; byte < 0x100; byte++) {
    const id = tokens.indexOf(bytePiece(byte));
    output.fill(0, id * HIDDEN, (id + 1) * HIDDEN);
  }
  entries.push(
    tensor('model.norm.weight', [HIDDEN], 'norm'),
    tensor('lm_head.weight', [vocab, HIDDEN], 'weight', output),
  );

  await writeSafetensors(path.join(dir, 'model.safetensors'), entries, { metadata: { format: 'pt' } });
  await writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(
    path.join(dir, 'tokenizer.json'),
    `${JSON.stringify(tokenizerJson(tokens, merges), null, 2)}\n`,
  );
  const tokenizerConfig = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '<|im_end|>',
    unk_token: '<unk>',
    pad_token: '</s>',
    model_max_length: CONTEXT,
    chat_template: DEMO_CHAT_TEMPLATE,
    tokenizer_class: 'LlamaTokenizerFast',
  };
  await writeFile(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  await writeFile(
    path.join(dir, 'LICENSE'),
    'The Alki demo model is generated from random numbers and is dedicated to the public domain (CC0-1.0).\n',
  );
  await writeFile(
    path.join(dir, 'README.md'),
    '---\nlicense: cc0-1.0\n---\n# alki-demo\n\nA tiny random llama, generated by Alki for `alki pack --demo`.\n',
  );
}
