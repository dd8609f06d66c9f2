// config.json values at their type's limits, and values inconsistent with
// the tensors, for every architecture: each is refused before anything is
// written, with one line that names the key and both values.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CHECKPOINT_FAMILIES, generateCheckpoint, type CheckpointFamily } from '@alki/testkit';
import { convert, planConversion } from '../convert.js';
import { ConverterError } from '../errors.js';
import { LLAMA_MAX_EXPERTS, LLAMA_MAX_LAYERS } from './limits.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hparams-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

type Config = Record<string, unknown>;

/**
 * A checkpoint folder whose weights are links to the fixture's and whose
 * config.json is edited: the text model's keys live under text_config in a
 * vision-language checkpoint, so edits go there.
 */
function withConfig(source: string, name: string, edit: (text: Config) => void): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(source)) {
    if (file === 'config.json') continue;
    fs.symlinkSync(path.join(source, file), path.join(dir, file));
  }
  const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as Config;
  edit((config.text_config as Config | undefined) ?? config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

interface Case {
  name: string;
  edit: (c: Config) => void;
  /** Fragments the one-line message must contain. */
  says: (original: Config) => string[];
  only?: (c: Config) => boolean;
}

const n = (c: Config, key: string) => c[key] as number;

const CASES: Case[] = [
  {
    name: 'num_hidden_layers far above the layers the weights hold',
    edit: (c) => (c.num_hidden_layers = 100_000),
    says: () => ['num_hidden_layers', '100000', String(LLAMA_MAX_LAYERS)],
  },
  {
    name: 'num_hidden_layers at the uint32 limit',
    edit: (c) => (c.num_hidden_layers = 2 ** 32 - 1),
    says: () => ['num_hidden_layers', '4294967295'],
  },
  {
    name: 'num_hidden_layers beyond any integer a double holds exactly',
    edit: (c) => (c.num_hidden_layers = 1e308),
    says: () => ['num_hidden_layers', '1e+308'],
  },
  {
    name: 'num_hidden_layers one above LLAMA_MAX_LAYERS',
    edit: (c) => (c.num_hidden_layers = LLAMA_MAX_LAYERS + 1),
    says: () => ['num_hidden_layers', String(LLAMA_MAX_LAYERS + 1), String(LLAMA_MAX_LAYERS)],
  },
  {
    name: 'num_hidden_layers one more than the weights hold',
    edit: (c) => (c.num_hidden_layers = n(c, 'num_hidden_layers') + 1),
    says: (o) => [
      'num_hidden_layers',
      String(n(o, 'num_hidden_layers') + 1),
      String(n(o, 'num_hidden_layers')),
    ],
  },
  {
    name: 'num_hidden_layers one less than the weights hold',
    edit: (c) => (c.num_hidden_layers = n(c, 'num_hidden_layers') - 1),
    says: (o) => [
      'num_hidden_layers',
      String(n(o, 'num_hidden_layers') - 1),
      String(n(o, 'num_hidden_layers')),
    ],
  },
  {
    name: 'num_hidden_layers negative',
    edit: (c) => (c.num_hidden_layers = -1),
    says: () => ['num_hidden_layers', '-1'],
  },
  {
    name: 'num_hidden_layers as a string',
    edit: (c) => (c.num_hidden_layers = '2'),
    says: () => ['num_hidden_layers', '"2"'],
  },
  {
    name: 'hidden_size at the safe-integer limit',
    edit: (c) => (c.hidden_size = Number.MAX_SAFE_INTEGER),
    says: () => ['hidden_size', String(Number.MAX_SAFE_INTEGER)],
  },
  {
    name: 'hidden_size one off the embedding width',
    edit: (c) => (c.hidden_size = n(c, 'hidden_size') + 1),
    says: (o) => ['hidden_size', String(n(o, 'hidden_size') + 1), String(n(o, 'hidden_size'))],
  },
  {
    name: 'vocab_size at the int32 limit',
    edit: (c) => (c.vocab_size = 2 ** 31 - 1),
    says: (o) => ['vocab_size', '2147483647', String(n(o, 'vocab_size'))],
  },
  {
    name: 'vocab_size one below the embedding rows',
    edit: (c) => (c.vocab_size = n(c, 'vocab_size') - 1),
    says: (o) => ['vocab_size', String(n(o, 'vocab_size') - 1), String(n(o, 'vocab_size'))],
  },
  {
    name: 'num_attention_heads at the int32 limit',
    edit: (c) => (c.num_attention_heads = 2 ** 31 - 1),
    says: () => ['num_attention_heads', '2147483647'],
  },
  {
    name: 'num_attention_heads one more than the weights have',
    edit: (c) => (c.num_attention_heads = n(c, 'num_attention_heads') + 1),
    says: (o) => ['num_attention_heads', String(n(o, 'num_attention_heads') + 1)],
  },
  {
    name: 'num_key_value_heads twice the weights',
    edit: (c) => (c.num_key_value_heads = n(c, 'num_key_value_heads') * 2),
    says: () => ['num_key_value_heads'],
  },
  {
    name: 'num_key_value_heads zero',
    edit: (c) => (c.num_key_value_heads = 0),
    says: () => ['num_key_value_heads', '0'],
  },
  {
    name: 'intermediate_size far above any tensor dimension',
    edit: (c) => (c.intermediate_size = 2 ** 40),
    says: () => ['intermediate_size', String(2 ** 40)],
  },
  {
    name: 'intermediate_size two off the MLP weights',
    edit: (c) => (c.intermediate_size = n(c, 'intermediate_size') + 2),
    says: (o) => ['intermediate_size', String(n(o, 'intermediate_size') + 2)],
    only: (c) => c.num_experts === undefined,
  },
  {
    name: 'head_dim far above any tensor dimension',
    edit: (c) => (c.head_dim = 2 ** 30),
    says: () => ['head_dim', String(2 ** 30)],
  },
  {
    name: 'max_position_embeddings beyond uint32',
    edit: (c) => (c.max_position_embeddings = 2 ** 40),
    says: () => ['max_position_embeddings', String(2 ** 40)],
  },
  {
    name: 'num_experts far above LLAMA_MAX_EXPERTS',
    edit: (c) => (c.num_experts = 1e9),
    says: () => ['num_experts', '1000000000', String(LLAMA_MAX_EXPERTS)],
    only: (c) => c.num_experts !== undefined,
  },
  {
    name: 'num_experts one more than the weights hold',
    edit: (c) => (c.num_experts = n(c, 'num_experts') + 1),
    says: (o) => ['num_experts', String(n(o, 'num_experts') + 1), String(n(o, 'num_experts'))],
    only: (c) => c.num_experts !== undefined,
  },
  {
    name: 'num_experts_per_tok above num_experts',
    edit: (c) => (c.num_experts_per_tok = n(c, 'num_experts') + 1),
    says: (o) => ['num_experts_per_tok', String(n(o, 'num_experts') + 1)],
    only: (c) => c.num_experts !== undefined,
  },
];

describe.each(CHECKPOINT_FAMILIES)('%s', (family: CheckpointFamily) => {
  let source: string;
  let original: Config;

  beforeAll(async () => {
    source = await generateCheckpoint({ family });
    const raw = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as Config;
    original = (raw.text_config as Config | undefined) ?? raw;
  }, 300_000);

  it.each(CASES.map((c) => [c.name, c] as const))(
    'refuses %s before writing anything',
    async (name, testCase) => {
      const { edit, says, only } = testCase;
      if (only && !only(original)) return;
      const dir = withConfig(source, `${family}-${name.replace(/\W+/g, '-')}`, edit);
      const output = path.join(work, `${family}-${name.replace(/\W+/g, '-')}.gguf`);
      const started = Date.now();
      const error = await convert({ input: dir, output }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error).toBeInstanceOf(ConverterError);
      expect((error as ConverterError).category).toBe('input');
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      for (const fragment of says(original)) expect(message).toContain(fragment);
      expect(fs.existsSync(output)).toBe(false);
      expect(fs.readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    },
  );

  it('plans the untouched checkpoint (the cases above change one key each)', async () => {
    const plan = await planConversion({ input: source });
    expect(plan.tensors.length).toBeGreaterThan(0);
  });
});
