// Llama 3 tokenizer parity, proved on the strings where llama.cpp's two
// readings of a Llama 3 tokenizer.json differ: llama-bpe takes a word that is
// in the vocabulary whole (ignore_merges), smaug-bpe builds it from merges.
// The checkpoint's tokenizer.json (Llama 3's, with a ByteLevel post-processor
// and no BOS template) hashes to smaug-bpe; the converter must still write the
// pre-type whose behaviour matches Hugging Face's, and llama.cpp, reading the
// converted GGUF through node-llama-cpp, must tokenize every line as
// @huggingface/tokenizers does.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getMetadata, ggufEntry, openGguf } from '@alki/gguf-reader';
import { generateCheckpoint, rewriteGgufMetadata } from '@alki/testkit';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';
import {
  ignoreMergesCorpus,
  LLAMA3_WHOLE_WORDS,
  tokenizationCorpus,
} from '../__fixtures__/tokenization-corpus.js';
import { convert } from '../convert.js';
import { HfTokenizer } from './hf-tokenizer.js';

let llama: Llama;
let workDir: string;
let gguf: string;
let hf: HfTokenizer;
let hfWithMerges: HfTokenizer;
let corpus: string[];
const models: LlamaModel[] = [];

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'alki-llama3-parity-'));
  const dir = await generateCheckpoint({ family: 'llama' });
  gguf = path.join(workDir, 'llama3.gguf');
  await convert({ input: dir, output: gguf, outtype: 'f32' });
  const json = JSON.parse(await fs.readFile(path.join(dir, 'tokenizer.json'), 'utf8')) as {
    model: Record<string, unknown>;
    added_tokens: Array<{ content: string; special: boolean }>;
  };
  const config = JSON.parse(await fs.readFile(path.join(dir, 'tokenizer_config.json'), 'utf8')) as object;
  hf = new HfTokenizer(json, config);
  hfWithMerges = new HfTokenizer({ ...json, model: { ...json.model, ignore_merges: false } }, config);
  const specials = json.added_tokens
    .filter((t) => t.special)
    .map((t) => t.content)
    .slice(0, 12);
  corpus = [...tokenizationCorpus(specials), ...ignoreMergesCorpus(LLAMA3_WHOLE_WORDS)];
}, 600_000);

afterAll(async () => {
  for (const model of models) await model.dispose();
  await llama?.dispose();
  await fs.rm(workDir, { recursive: true, force: true });
});

async function load(file: string): Promise<LlamaModel> {
  const model = await llama.loadModel({ modelPath: file });
  models.push(model);
  return model;
}

const hfIds = (text: string) => hf.encode(text, { add_special_tokens: false }).ids;

/** Every corpus line on which llama.cpp and Hugging Face disagree, with both tokenizations. */
function mismatches(model: LlamaModel, lines: string[]): string[] {
  return lines.flatMap((text) => {
    const actual = model.tokenize(text, true).map(Number);
    const expected = hfIds(text);
    return JSON.stringify(actual) === JSON.stringify(expected)
      ? []
      : [`${JSON.stringify(text)}: llama.cpp ${JSON.stringify(actual)} vs HF ${JSON.stringify(expected)}`];
  });
}

describe('Llama 3 tokenizer parity', () => {
  it('holds words that Hugging Face tokenizes differently with and without ignore_merges', () => {
    const same = LLAMA3_WHOLE_WORDS.filter(
      (word) =>
        JSON.stringify(hfIds(word)) ===
        JSON.stringify(hfWithMerges.encode(word, { add_special_tokens: false }).ids),
    );
    expect(same).toEqual([]);
    expect(LLAMA3_WHOLE_WORDS.every((word) => hfIds(word).length === 1)).toBe(true);
  });

  it('converts the tokenizer as llama-bpe, though its check-text hash is smaug-bpe', async () => {
    const file = await openGguf(gguf);
    expect(getMetadata(file, 'tokenizer.ggml.pre')).toBe('llama-bpe');
    // Hugging Face adds no BOS with this tokenizer.json, and llama-bpe's default is to add one.
    expect(getMetadata(file, 'tokenizer.ggml.add_bos_token')).toBe(false);
  });

  it(`tokenizes every line of the corpus as @huggingface/tokenizers does, in llama.cpp`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(450);
    expect(mismatches(await load(gguf), corpus)).toEqual([]);
  });

  it('would differ as smaug-bpe on every whole word: the corpus tells the two pre-types apart', async () => {
    const smaug = path.join(workDir, 'smaug.gguf');
    await rewriteGgufMetadata(gguf, smaug, (entries) =>
      entries.map((e) => (e.key === 'tokenizer.ggml.pre' ? ggufEntry.string(e.key, 'smaug-bpe') : e)),
    );
    const model = await load(smaug);
    expect(mismatches(model, [...LLAMA3_WHOLE_WORDS])).toHaveLength(LLAMA3_WHOLE_WORDS.length);
  });
});
