import { describe, expect, it } from '@jest/globals';
import { nativeTools } from '@alki/testkit';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calibrationModels } from '../__fixtures__/models.js';
import { runWorker } from '../worker/run-worker.js';
import { runKlDivergence, runLogits, runPerplexityBase } from './llama-perplexity.js';
import { compareLogitsFiles, perplexityOfLogitsFile } from './logits-file.js';
import { builtInTextFile } from './text.js';

// How closely the node-llama-cpp engine must agree with llama-perplexity on
// the same files and text. They are not bit-identical: llama-perplexity's
// files keep each model's log-probabilities as 16-bit steps of at most
// 16/65535 nats (perplexity.cpp, log_softmax with log_prob), and the two
// programs are different builds of llama.cpp (node-llama-cpp's prebuilt
// binary and the native tools) whose SIMD kernels round the logits
// differently. Neither
// moves a mean by more than a fraction of a percent; a near-tie for the top
// token can flip, which moves top-1 agreement by 1/N per flip.
const RELATIVE = 0.02;
const TOP1_POINTS = 0.02;

describe('quality by node-llama-cpp against llama-perplexity --kl-divergence', () => {
  // Against the figures read from llama-perplexity's log-probability files,
  // not its printed log, whose last lines a busy machine loses (see
  // llama-perplexity.ts); the next test holds those figures to the printed
  // ones.
  it("gives the same perplexity, mean KL divergence and top-1 agreement for each quant as llama-perplexity's files, within the stated tolerance", async () => {
    const tools = await nativeTools();
    const { base, models } = await calibrationModels();
    const work = mkdtempSync(path.join(os.tmpdir(), 'alki-agreement-'));
    try {
      const common = { textFile: builtInTextFile(), nCtx: 64, threads: 1, chunks: 8 };
      const nodeBase = path.join(work, 'node.kld');
      const toolBase = path.join(work, 'tool.logits');
      const binary = tools.paths['llama-perplexity'];
      const ours = await runWorker({ kind: 'quality-base', model: base.file, ...common, baseFile: nodeBase });
      await runLogits({ binary, model: base.file, ...common, baseFile: toolBase });
      const theirs = await perplexityOfLogitsFile(toolBase);
      if (ours.type !== 'perplexity') throw new Error(ours.type);
      expect(ours.summary.tokens).toBe(theirs.tokens);
      expect(ours.summary.tokens).toBe(8 * 31);
      expect(Math.abs(ours.summary.perplexity.value - theirs.perplexity.value)).toBeLessThanOrEqual(
        RELATIVE * theirs.perplexity.value,
      );
      const klds = new Map<string, number>();

      for (const model of models.filter((m) => m !== base)) {
        const node = await runWorker({
          kind: 'quality-compare',
          model: model.file,
          threads: 1,
          baseFile: nodeBase,
        });
        const quantFile = path.join(work, `${model.quant}.logits`);
        await runLogits({ binary, model: model.file, ...common, baseFile: quantFile });
        if (node.type !== 'quality') throw new Error(node.type);
        const a = node.summary;
        const b = await compareLogitsFiles(toolBase, quantFile);
        expect({ quant: model.quant, tokens: a.tokens }).toEqual({ quant: model.quant, tokens: b.tokens });
        expect(Math.abs(a.kld.value - b.kld.value)).toBeLessThanOrEqual(RELATIVE * b.kld.value + 1e-5);
        expect(Math.abs(a.perplexity.value - b.perplexity.value)).toBeLessThanOrEqual(
          RELATIVE * b.perplexity.value,
        );
        expect(Math.abs(a.top1Agreement.value - b.top1Agreement.value)).toBeLessThanOrEqual(TOP1_POINTS);
        klds.set(model.quant, b.kld.value);
        process.stderr.write(
          `${model.quant}: KLD ${a.kld.value.toFixed(6)} vs ${b.kld.value.toFixed(6)}, top-1 ${a.top1Agreement.value.toFixed(4)} vs ${b.top1Agreement.value.toFixed(4)}, PPL ${a.perplexity.value.toFixed(3)} vs ${b.perplexity.value.toFixed(3)}\n`,
        );
      }
      // The fixture is large enough that the quants differ measurably.
      expect(klds.get('Q4_K_M')!).toBeGreaterThan(10 * klds.get('Q8_0')!);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);

  // The default engine: llama-perplexity writes each model's log-probabilities
  // (--kl-divergence-base without --kl-divergence) and logits-file.ts compares
  // the files. It is the tool's own arithmetic on the same numbers, except that
  // the quant's log-probabilities are read back from 16-bit steps too: each
  // moves by at most half a step of at most 16/65535 nats, and so does each
  // position's KL divergence and loss. Top-1 can flip only on such near-ties.
  it("reads the same figures from llama-perplexity's log-probability files as its --kl-divergence run prints", async () => {
    const tools = await nativeTools();
    const { base, models } = await calibrationModels();
    const work = mkdtempSync(path.join(os.tmpdir(), 'alki-agreement-files-'));
    const HALF_STEP = 8 / 65535;
    // The printed figures have 6 decimals (4 for the final perplexity).
    const PRINTED = 5e-7;
    try {
      const common = {
        binary: tools.paths['llama-perplexity'],
        textFile: builtInTextFile(),
        nCtx: 64,
        threads: 1,
        chunks: 8,
      };
      const baseFile = path.join(work, 'base.logits');
      const printed = await runPerplexityBase({ ...common, model: base.file, baseFile });
      const read = await perplexityOfLogitsFile(baseFile);
      expect(read.tokens).toBe(printed.summary.tokens);
      expect(
        Math.abs(Math.log(read.perplexity.value / printed.summary.perplexity.value)),
      ).toBeLessThanOrEqual(HALF_STEP + 1e-4 / printed.summary.perplexity.value);
      for (const model of models.filter((m) => m !== base)) {
        const tool = (await runKlDivergence({ ...common, model: model.file, baseFile })).summary;
        const quantFile = path.join(work, `${model.quant}.logits`);
        await runLogits({ ...common, model: model.file, baseFile: quantFile });
        const ours = await compareLogitsFiles(baseFile, quantFile);
        expect({ quant: model.quant, tokens: ours.tokens }).toEqual({
          quant: model.quant,
          tokens: tool.tokens,
        });
        expect(Math.abs(ours.kld.value - tool.kld.value)).toBeLessThanOrEqual(HALF_STEP + PRINTED);
        expect(Math.abs(ours.lnPerplexityRatio.value - tool.lnPerplexityRatio.value)).toBeLessThanOrEqual(
          HALF_STEP + PRINTED,
        );
        // The same file's numbers, summed in float by the tool and in double here.
        expect(Math.abs(Math.log(ours.perplexityBase.value / tool.perplexityBase.value))).toBeLessThanOrEqual(
          1e-6,
        );
        expect(Math.abs(ours.top1Agreement.value - tool.top1Agreement.value)).toBeLessThanOrEqual(
          TOP1_POINTS,
        );
        process.stderr.write(
          `${model.quant} from files: KLD ${ours.kld.value.toFixed(6)} vs printed ${tool.kld.value.toFixed(6)}, top-1 ${ours.top1Agreement.value.toFixed(4)} vs ${tool.top1Agreement.value.toFixed(4)}\n`,
        );
      }
      // A file cut short is refused, not read as a shorter text.
      const cut = path.join(work, 'cut.logits');
      writeFileSync(cut, readFileSync(baseFile).subarray(0, 1000));
      await expect(compareLogitsFiles(baseFile, cut)).rejects.toThrow(
        /cut\.logits is not a complete llama-perplexity log-probability file/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});
