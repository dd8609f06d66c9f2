import { describe, expect, it } from '@jest/globals';
import { calibrationModels } from './__fixtures__/models.js';
import { calibrate, type CalibrationProgress } from './calibrate.js';
import { probeHardware } from './probe/probe.js';

describe('calibrate with the node-llama-cpp engine', () => {
  it('measures speed per thread count, load time, peak memory and quality of each quant in child processes, and recommends one', async () => {
    const { base, models } = await calibrationModels();
    const events: CalibrationProgress[] = [];
    const calibration = await calibrate({
      targets: models.map((m) => m.file),
      engine: 'node-llama-cpp',
      probe: await probeHardware({ bandwidth: false, gpu: false }),
      qualityContext: 64,
      qualityChunks: 4,
      threads: [1],
      promptTokens: 32,
      generatedTokens: 8,
      repetitions: 1,
      constraints: { maxKld: 0.005 },
      onProgress: (event) => events.push(event),
    });
    expect(calibration.engines).toEqual({ speed: 'node-llama-cpp', quality: 'node-llama-cpp' });
    expect(calibration.models.map((m) => m.quant)).toEqual(['F32', 'Q8_0', 'Q4_K_M']);
    expect(calibration.models[0].file).toBe(base.file);
    for (const model of calibration.models) {
      expect(model.speed.samples.map((s) => [s.kind, s.threads])).toEqual([
        ['prompt', 1],
        ['generation', 1],
      ]);
      expect(model.speed.samples.every((s) => s.tokensPerSecond > 0)).toBe(true);
      expect(model.speed.loadMs).toBeGreaterThan(0);
      expect(model.speed.peakRssBytes).toBeGreaterThan(model.sizeBytes);
      expect(model.quality?.summary.tokens).toBe(4 * 31);
      // Memory grows with the context by the KV cache.
      expect(model.memoryByContext.at(-1)!.kvCacheBytes).toBeGreaterThan(
        model.memoryByContext[0].kvCacheBytes,
      );
    }
    const [, q8, q4] = calibration.models;
    if (q8.quality?.reference !== false || q4.quality?.reference !== false) throw new Error('no comparison');
    expect(q4.quality.summary.kld.value).toBeGreaterThan(q8.quality.summary.kld.value);
    // Q4_K_M breaks --max-kl; which of the other two generates faster is up to this machine.
    expect(['F32', 'Q8_0']).toContain(calibration.result.recommendation?.quant);
    expect(calibration.result.rejected).toEqual([
      expect.objectContaining({ option: 'Q4_K_M', constraint: 'max-kl' }),
    ]);
    // Where the time went: each quant's quality, then each one's speed (no probe: one was given).
    expect(calibration.timings.map((t) => [t.phase, t.quant])).toEqual([
      ['models', undefined],
      ...['F32', 'Q8_0', 'Q4_K_M'].map((quant) => ['quality', quant]),
      ...['F32', 'Q8_0', 'Q4_K_M'].map((quant) => ['speed', quant]),
      ['recommend', undefined],
    ]);
    expect(calibration.timings.every((t) => t.ms >= 0)).toBe(true);
    expect(calibration.timings.reduce((sum, t) => sum + t.ms, 0)).toBeLessThanOrEqual(calibration.wallMs + 1);
    // Progress moves forward to the end, with a time-left estimate along the way.
    const fractions = events.map((e) => e.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBeCloseTo(1, 1);
    expect(events.some((e) => e.etaSeconds !== undefined)).toBe(true);
  }, 600_000);
});
