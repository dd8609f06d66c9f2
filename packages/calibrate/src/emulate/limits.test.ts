import { describe, expect, it } from '@jest/globals';
import { nativeTools } from '@alki/testkit';
import { fileURLToPath } from 'node:url';
import { calibrationModels } from '../__fixtures__/models.js';
import { runTool } from '../process/run-tool.js';
import { runLlamaBench } from '../speed/llama-bench.js';
import { fastest } from '../speed/speed.js';
import { createLimitedScope } from './limits.js';

const MIB = 1024 * 1024;
const PLAN = { threads: [1], batches: [64], promptTokens: 64, generatedTokens: 64, depth: 0, repetitions: 3 };

describe('createLimitedScope on this machine', () => {
  it('runs llama-bench under a CPU quota: slower than without it, and the limit is what the cgroup holds', async () => {
    const tools = await nativeTools();
    const { models } = await calibrationModels();
    const model = models.find((m) => m.quant === 'Q8_0')!.file;
    const free = await runLlamaBench({ binary: tools.paths['llama-bench'], model, plan: PLAN });
    const scope = await createLimitedScope({ cpuCores: 0.1, memoryBytes: 512 * MIB });
    try {
      const limited = await runLlamaBench({
        binary: tools.paths['llama-bench'],
        model,
        plan: PLAN,
        wrap: scope.wrap,
      });
      const freeRate = fastest(free.samples, 'generation')!.tokensPerSecond;
      const limitedRate = fastest(limited.samples, 'generation')!.tokensPerSecond;
      process.stderr.write(
        `${scope.method}: generation ${freeRate.toFixed(0)} tok/s free, ${limitedRate.toFixed(0)} under 0.1 cores\n`,
      );
      // A tenth of a core for a tool that gets at least a third of one here (two busy cores).
      expect(limitedRate).toBeLessThan(freeRate * 0.6);
      const usage = await scope.memoryUsage();
      expect(usage.peakBytes).toBeGreaterThan(0);
      expect(usage.peakBytes).toBeLessThanOrEqual(512 * MIB);
    } finally {
      await scope.close();
    }
  }, 300_000);

  it('caps memory: a process that needs more than the limit is killed, and its probe sees the limit', async () => {
    const scope = await createLimitedScope({ cpuCores: 1, memoryBytes: 96 * MIB });
    try {
      const cgroup = fileURLToPath(new URL('../probe/cgroup.ts', import.meta.url));
      const probe = await runTool(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { readCgroupLimits } = await import(${JSON.stringify(cgroup)});
           const { readFile } = await import('node:fs/promises');
           console.log(JSON.stringify(await readCgroupLimits((f) => readFile(f, 'utf8').catch(() => undefined))));`,
        ],
        { wrap: scope.wrap },
      );
      expect(probe.code).toBe(0);
      expect(JSON.parse(probe.stdout)).toMatchObject({ cpuLimitCores: 1, memoryLimitBytes: 96 * MIB });

      // 256 MiB touched page by page, under 96 MiB with no swap: the kernel's OOM killer ends it.
      const hog = await runTool(
        process.execPath,
        ['-e', 'const b = Buffer.alloc(256 * 1024 * 1024, 1); console.log(b[5]);'],
        {
          wrap: scope.wrap,
        },
      );
      expect(hog.signal).toBe('SIGKILL');
      const usage = await scope.memoryUsage();
      expect(usage.peakBytes).toBeLessThanOrEqual(96 * MIB);
      expect(usage.oomKills).toBe(1);
    } finally {
      await scope.close();
    }
  }, 120_000);
});
