// Mixture-of-experts checkpoints, converted by Alki and quantized by Alki,
// byte for byte what llama-quantize writes from the same F16 GGUF: the 3-D
// expert tensors, the F32 routers, Qwen2-MoE's shared expert and its [n, 1]
// gate, and llama-quantize's rules for models with 8 experts.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { quantizeGguf } from '@alki/quantizer';
import { generateCheckpoint, nativeTools, type CheckpointFamily } from '@alki/testkit';
import { convert } from './convert.js';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-moe-quantize-'));
let llamaQuantize: string;

beforeAll(async () => {
  llamaQuantize = (await nativeTools()).paths['llama-quantize'];
}, 900_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// Hidden 256 and expert feed-forward 256, so every k-quant block fits; 8
// experts is the count for which llama-quantize gives attn_v and attn_k Q8_0.
const CASES: Array<[CheckpointFamily, number]> = [
  ['qwen2moe', 4],
  ['qwen3moe', 8],
];

describe.each(CASES)('%s with %i experts', (family, experts) => {
  let f16: string;

  beforeAll(async () => {
    const dir = await generateCheckpoint({ family, experts, hiddenSize: 256, intermediateSize: 512 });
    f16 = path.join(work, `${family}-${experts}-f16.gguf`);
    await convert({ input: dir, output: f16, outtype: 'f16' });
  }, 300_000);

  it.each(['Q4_K_M', 'Q8_0'])(
    'quantizes to %s exactly as llama-quantize does',
    async (mix) => {
      const reference = path.join(work, `${family}-${experts}-${mix}-llama.gguf`);
      const ours = path.join(work, `${family}-${experts}-${mix}-alki.gguf`);
      await run(llamaQuantize, [f16, reference, mix, '2'], { maxBuffer: 64 << 20 });
      await quantizeGguf({ input: f16, output: ours, mix, threads: 2 });
      const expected = fs.readFileSync(reference);
      const actual = fs.readFileSync(ours);
      expect(actual.length).toBe(expected.length);
      expect(actual.equals(expected)).toBe(true);
    },
    300_000,
  );
});
