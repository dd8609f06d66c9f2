// A llama GGUF whose greedy answer is written in its weights: a tool call
// for a chat without tool results, and a fixed text answer once a tool
// result is in the prompt. The random-weight fixtures never make a tool
// call, so this one exists to test tool calling end to end.
//
// How the weights decide (one layer, hidden width 16):
// - each token's embedding is a one-hot "slot": the tokens of the script
//   have a slot each, every other token shares slot 0;
// - the feed-forward block is zero, and attention's only output is a "seen a
//   tool result" channel: queries and keys are zero, so every position
//   attends evenly to all before it, and only `<tool_response>` has a value,
//   so the channel holds the share of `<tool_response>` tokens seen so far;
// - output.weight maps each slot to the logit of the token that follows it
//   (a bigram program), and the channel pushes the tool call's first token
//   down, so after the prompt's last `\n` the answer is the tool call when
//   no tool result was seen, and the text answer when one was.
// The margins are tens of logits, so sampling at temperature up to 1 gives
// the same tokens as greedy decoding.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createGgufWriter, ggufEntry, GgmlType, GgufValueType, type GgufTensorSpec } from '@alki/gguf-reader';
import { fixtureCacheDir } from './cache.js';
import { TOKEN_NORMAL, tinyVocabulary } from './tiny-gguf.js';

// tokenizer.ggml.token_type USER_DEFINED (llama-vocab.h): written as plain
// text (not byte-level), matched as a whole in any text and always decoded,
// as Qwen 2.5 declares `<tool_call>`.
const TOKEN_USER_DEFINED = 4;
const IM_END = 3;

/**
 * A Qwen 2.5-style ChatML template with tools (written for this fixture; a
 * newline right after a tag is written as an expression, since templates run
 * with trim_blocks):
 * tools listed in the system turn, calls as `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`,
 * tool results in a user turn inside `<tool_response>` tags. llama-server
 * derives its tool-call parser from what this template renders.
 */
export const SCRIPTED_TOOLS_TEMPLATE = [
  '{% if tools %}<|im_start|>system\n',
  "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}\n\n{% endif %}",
  '# Tools\n\nYou may call functions. Their signatures, within <tools></tools> tags:\n<tools>',
  "{% for tool in tools %}{{ '\\n' }}{{ tool | tojson }}{% endfor %}{{ '\\n' }}</tools>\n\n",
  'Return each call as a JSON object with the function name and arguments within <tool_call></tool_call> tags:\n',
  '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n',
  "{% elif messages[0]['role'] == 'system' %}<|im_start|>system\n{{ messages[0]['content'] }}<|im_end|>\n",
  '{% endif %}',
  '{% for message in messages %}',
  "{% if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}",
  '<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n',
  "{% elif message.role == 'assistant' %}<|im_start|>assistant",
  "{% if message.content %}{{ '\\n' + message.content }}{% endif %}",
  '{% for tool_call in message.tool_calls %}{% if tool_call.function is defined %}{% set tool_call = tool_call.function %}{% endif %}',
  '{{ \'\\n\' }}<tool_call>\n{"name": "{{ tool_call.name }}", "arguments": {{ tool_call.arguments | tojson }}}\n</tool_call>',
  '{% endfor %}<|im_end|>\n',
  "{% elif message.role == 'tool' %}",
  "{% if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}<|im_start|>user{% endif %}",
  "{{ '\\n' }}<tool_response>\n{{ message.content }}\n</tool_response>",
  "{% if loop.last or messages[loop.index0 + 1].role != 'tool' %}<|im_end|>\n{% endif %}",
  '{% endif %}',
  '{% endfor %}',
  '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
].join('');

/** What the scripted model says, and the tool it calls. */
export const SCRIPTED_TOOL_CALL = {
  name: 'get_weather',
  arguments: { city: 'Paris' },
  /** The text answer after a tool result. */
  answer: 'The tool has answered.',
} as const;

export interface ScriptedLlamaGguf {
  path: string;
  tokens: string[];
  /** The chat template written into the file (SCRIPTED_TOOLS_TEMPLATE). */
  chatTemplate: string;
}

const SLOTS = 16;
const CONTEXT = 2048;
// Byte-level BPE spells a space 'Ġ' and a newline 'Ċ' (see tiny-gguf.ts).
const byteLevel = (text: string) => text.replaceAll(' ', '\u0120').replaceAll('\n', '\u010a');

/** The vocabulary: the tiny llama's, plus the tool tags and the pieces of the call and the answer as single tokens. */
function scriptedVocabulary() {
  const { tokens, types, merges } = tinyVocabulary();
  const add = (text: string, type = TOKEN_NORMAL) => {
    tokens.push(type === TOKEN_NORMAL ? byteLevel(text) : text);
    types.push(type);
    return tokens.length - 1;
  };
  const { name, arguments: args } = SCRIPTED_TOOL_CALL;
  // `<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris"}}\n</tool_call>`,
  // in the pieces of node-llama-cpp's function calling (call prefix, name,
  // params prefix, params, suffix): it writes the prefixes and the suffix into
  // the context itself, so they are user-defined tokens that its tokenizer
  // produces whole, and it constrains the name and the params by grammars, so
  // each is a token of its own; its params grammar allows no spaces.
  const call = [
    add('<tool_call>', TOKEN_USER_DEFINED),
    add('\n{"name": "', TOKEN_USER_DEFINED),
    add(name),
    add('", "arguments": ', TOKEN_USER_DEFINED),
    add(JSON.stringify(args)),
    add('}\n', TOKEN_USER_DEFINED),
    add('</tool_call>', TOKEN_USER_DEFINED),
  ];
  const ids = {
    newline: tokens.indexOf('\u010a'),
    call,
    answer: add(SCRIPTED_TOOL_CALL.answer),
    responseOpen: add('<tool_response>', TOKEN_USER_DEFINED),
    responseClose: add('</tool_response>', TOKEN_USER_DEFINED),
  };
  return { tokens, types, merges, ids };
}

/** The weights of the program: tensor name to values, in GGUF order (dims [in, out], out rows of `in` values). */
function scriptedWeights(vocab: ReturnType<typeof scriptedVocabulary>) {
  const { tokens, ids } = vocab;
  const n = SLOTS;
  // Slots: 0 every other token, then the script's tokens; the last slot is the tool-result channel.
  const script = [ids.newline, ...ids.call, ids.answer, ids.responseOpen];
  const slot = (token: number) => script.indexOf(token) + 1;
  const channel = n - 1;
  const embedding = new Float32Array(n * tokens.length);
  for (let t = 0; t < tokens.length; t++) embedding[t * n + slot(t)] = 1;
  // attn_norm scales a one-hot row to sqrt(n); the value of `<tool_response>`
  // is that times 1, and attn_output scales the share seen so the channel is
  // at most 1 (every position a tool response) and at least 1/CONTEXT.
  const value = new Float32Array(n * n);
  value[channel * n + slot(ids.responseOpen)] = 1;
  const attnOutput = new Float32Array(n * n);
  attnOutput[channel * n + channel] = 1 / Math.sqrt(n);
  // Logits: the next token of each slot; K sets the margin (tens of logits after output_norm's sqrt(n) scale).
  const K = 10;
  const output = new Float32Array(n * tokens.length);
  const follows = (from: number, to: number, weight = K) => {
    output[to * n + slot(from)] = weight;
  };
  follows(ids.newline, ids.call[0], 2 * K);
  follows(ids.newline, ids.answer);
  for (let i = 1; i < ids.call.length; i++) follows(ids.call[i - 1], ids.call[i]);
  output[IM_END * n + 0] = K;
  for (const done of [ids.call.at(-1)!, ids.answer, ids.responseOpen]) follows(done, IM_END);
  // Any tool result seen (channel >= 1/CONTEXT, or 1/(8 CONTEXT) in a context
  // 8 times as long) outweighs the call's lead of K over the answer.
  output[ids.call[0] * n + channel] = -16 * K * CONTEXT;
  const ones = new Float32Array(n).fill(1);
  const zeros = (count: number) => new Float32Array(count);
  return new Map<string, Float32Array>([
    ['token_embd.weight', embedding],
    ['blk.0.attn_norm.weight', ones],
    ['blk.0.attn_q.weight', zeros(n * n)],
    ['blk.0.attn_k.weight', zeros(n * n)],
    ['blk.0.attn_v.weight', value],
    ['blk.0.attn_output.weight', attnOutput],
    ['blk.0.ffn_norm.weight', ones],
    ['blk.0.ffn_gate.weight', zeros(n * n)],
    ['blk.0.ffn_down.weight', zeros(n * n)],
    ['blk.0.ffn_up.weight', zeros(n * n)],
    ['output_norm.weight', ones],
    ['output.weight', output],
  ]);
}

/**
 * Writes the scripted tool-calling llama (one layer, width 16, the tiny
 * llama's byte-level vocabulary plus `<tool_call>`, `</tool_call>`,
 * `<tool_response>`, `</tool_response>`, the call's JSON and the answer as
 * single tokens, SCRIPTED_TOOLS_TEMPLATE as its chat template). Given a chat
 * rendered by that template, it answers with
 * `<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>`
 * when the prompt holds no tool result, and `The tool has answered.` when it does.
 *
 * @example
 * const model = await writeScriptedLlamaGguf(path.join(dir, 'scripted.gguf'));
 */
export async function writeScriptedLlamaGguf(file: string): Promise<ScriptedLlamaGguf> {
  const vocab = scriptedVocabulary();
  const weights = scriptedWeights(vocab);
  const tensors: GgufTensorSpec[] = [...weights].map(([name, values]) => ({
    name,
    type: GgmlType.F32,
    dims: values.length === SLOTS ? [SLOTS] : [SLOTS, values.length / SLOTS],
  }));
  const metadata = [
    ggufEntry.string('general.architecture', 'llama'),
    ggufEntry.string('general.name', 'alki-scripted-tool-caller'),
    // LLAMA_FTYPE_ALL_F32 (llama.h).
    ggufEntry.uint32('general.file_type', 0),
    ggufEntry.uint32('llama.context_length', CONTEXT),
    ggufEntry.uint32('llama.embedding_length', SLOTS),
    ggufEntry.uint32('llama.block_count', 1),
    ggufEntry.uint32('llama.feed_forward_length', SLOTS),
    ggufEntry.uint32('llama.attention.head_count', 1),
    ggufEntry.float32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    ggufEntry.uint32('llama.rope.dimension_count', SLOTS),
    ggufEntry.uint32('llama.vocab_size', vocab.tokens.length),
    ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
    ggufEntry.string('tokenizer.ggml.pre', 'default'),
    ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, vocab.tokens),
    ggufEntry.array('tokenizer.ggml.token_type', GgufValueType.INT32, vocab.types),
    ggufEntry.array('tokenizer.ggml.merges', GgufValueType.STRING, vocab.merges),
    ggufEntry.uint32('tokenizer.ggml.bos_token_id', 0),
    ggufEntry.uint32('tokenizer.ggml.eos_token_id', IM_END),
    ggufEntry.bool('tokenizer.ggml.add_bos_token', false),
    ggufEntry.string('tokenizer.chat_template', SCRIPTED_TOOLS_TEMPLATE),
  ];
  const writer = await createGgufWriter(file, { metadata, tensors });
  try {
    for (const values of weights.values()) await writer.writeTensorData(new Uint8Array(values.buffer));
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { path: file, tokens: vocab.tokens, chatTemplate: SCRIPTED_TOOLS_TEMPLATE };
}

/**
 * The scripted tool-calling llama, written once into the fixture cache
 * (`~/.cache/alki/test-fixtures/scripted-gguf`) and reused afterwards.
 *
 * @example
 * const { path: modelPath } = await cachedScriptedLlamaGguf();
 */
export async function cachedScriptedLlamaGguf(): Promise<ScriptedLlamaGguf> {
  const key = crypto
    .createHash('sha256')
    .update(fs.readFileSync(new URL(import.meta.url)))
    // The tiny llama's vocabulary, which lives in another file, is part of this one.
    .update(JSON.stringify(scriptedVocabulary()))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(fixtureCacheDir('scripted-gguf'), `scripted-llama-${key}.gguf`);
  if (fs.existsSync(file))
    return { path: file, tokens: scriptedVocabulary().tokens, chatTemplate: SCRIPTED_TOOLS_TEMPLATE };
  // Written beside and renamed, so a test killed midway leaves no half file in the cache.
  const partial = `${file}.${process.pid}.partial`;
  const written = await writeScriptedLlamaGguf(partial);
  fs.renameSync(partial, file);
  return { ...written, path: file };
}
