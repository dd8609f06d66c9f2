import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { launchChromium } from '@alki/testkit';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { Calibration, ModelCalibration } from '../calibrate.js';
import type { HardwareProbe } from '../probe/probe.js';
import { renderReport, writeReport } from './html-report.js';

const MIB = 1024 * 1024;

const PROBE: HardwareProbe = {
  hostname: 'edge-1',
  os: { platform: 'linux', release: '6.1' },
  cpu: {
    architecture: 'aarch64',
    model: 'Cortex-A76',
    logicalCores: 4,
    physicalCores: 4,
    simd: ['neon', 'dotprod'],
  },
  memory: { totalBytes: 8192 * MIB, availableBytes: 7000 * MIB, swapTotalBytes: 0 },
  cgroup: { version: 'v2' },
  usable: { cores: 4, memoryBytes: 7000 * MIB },
  gpu: { backend: null, devices: [], vramTotalBytes: 0, vramFreeBytes: 0, unifiedBytes: 0 },
  bandwidth: { copyGBps: 9.5, singleThreadGBps: 6, threads: 4, bufferBytes: 64 * MIB, repetitions: 5 },
};

// One quant as a 4-core board might measure it; generation peaks at 3 threads.
function model(quant: string, sizeMiB: number, tg: number, kld?: number): ModelCalibration {
  return {
    quant,
    file: `/models/${quant}.gguf`,
    sizeBytes: sizeMiB * MIB,
    bitsPerWeight: (sizeMiB * 8) / 1000,
    parameterCount: 1e9,
    isBase: kld === undefined,
    speed: {
      engine: 'llama-bench',
      promptTokens: 256,
      generatedTokens: 64,
      depth: 0,
      repetitions: 3,
      samples: [1, 2, 3, 4].flatMap((threads) => [
        {
          kind: 'prompt' as const,
          threads,
          batch: 512,
          tokensPerSecond: tg * 8 * Math.min(threads, 3),
          stddev: 1,
        },
        {
          kind: 'generation' as const,
          threads,
          batch: 512,
          tokensPerSecond: tg * (threads === 3 ? 1 : threads / 4),
          stddev: 0.1,
        },
      ]),
      loadMs: 900,
      peakRssBytes: (sizeMiB + 300) * MIB,
      wallMs: 1000,
    },
    quality:
      kld === undefined
        ? {
            reference: true,
            engine: 'node-llama-cpp',
            summary: { tokens: 765, perplexity: { value: 9.1, uncertainty: 0.3 } },
          }
        : {
            reference: false,
            engine: 'node-llama-cpp',
            summary: {
              tokens: 765,
              perplexity: { value: 9.1 + kld * 10, uncertainty: 0.3 },
              perplexityBase: { value: 9.1, uncertainty: 0.3 },
              lnPerplexityRatio: { value: kld, uncertainty: 0.01 },
              kld: { value: kld, uncertainty: kld / 20 },
              kldMedian: kld,
              kld99: kld * 5,
              kldMax: kld * 9,
              top1Agreement: { value: 1 - kld * 3, uncertainty: 0.01 },
              deltaPRms: kld / 4,
            },
          },
    memoryByContext: [512, 1024, 2048, 4096].map((context) => ({
      context,
      bytes: (sizeMiB + 256 + context / 8) * MIB,
      kvCacheBytes: (context / 8) * MIB,
    })),
    prediction: {
      generationTokensPerSecond: tg * 1.1,
      bound: 'bandwidth',
      machine: 'edge-1',
      generationError: 0.1,
    },
  };
}

const CALIBRATION: Calibration = {
  model: {
    name: 'Qwen3 <0.6B> & "friends"',
    architecture: 'qwen3',
    parameterCount: 6e8,
    contextLength: 4096,
  },
  probe: PROBE,
  engines: { speed: 'llama-bench', quality: 'node-llama-cpp' },
  plan: {
    threads: [1, 2, 3, 4],
    batches: [512],
    promptTokens: 256,
    generatedTokens: 64,
    depth: 0,
    repetitions: 3,
  },
  text: { source: 'built-in', file: '/x/calibration-text.txt', license: 'Apache-2.0', nCtx: 512 },
  models: [model('F16', 1200, 4), model('Q8_0', 640, 7, 0.002), model('Q4_K_M', 400, 11, 0.04)],
  constraints: { maxKld: 0.01 },
  result: {
    recommendation: {
      quant: 'Q8_0',
      context: 4096,
      threads: 3,
      batch: 512,
      expected: {
        generationTokensPerSecond: 7,
        promptTokensPerSecond: 168,
        memoryBytes: 1408 * MIB,
        kld: 0.002,
      },
      reasons: [
        'Q8_0 generates fastest (7.0 tokens/s) of the 2 quants that meet every constraint (F16 4.0).',
      ],
    },
    rejected: [
      { option: 'Q4_K_M', constraint: 'max-kl', reason: 'KL divergence 0.0400 nats is over --max-kl 0.01' },
    ],
  },
  wallMs: 60_000,
  timings: [{ phase: 'speed', quant: 'Q8_0', ms: 30_000 }],
};

let browser: Browser;
const work = mkdtempSync(path.join(os.tmpdir(), 'alki-report-'));

beforeAll(async () => {
  browser = await launchChromium('the HTML report test');
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the HTML report', () => {
  it('opens in headless Chromium without errors or requests, and draws the four charts with a series per quant', async () => {
    const file = path.join(work, 'report.html');
    await writeReport(file, CALIBRATION);
    const page = await browser.newPage({ viewport: { width: 1200, height: 1800 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith('file://')) requests.push(request.url());
    });
    await page.goto(`file://${file}`);
    // Browser-side code as strings: this package's TypeScript has no DOM types.
    await page.waitForFunction('window.alkiCharts && window.alkiCharts.length === 4');
    const charts = await page.evaluate('window.alkiCharts');
    expect(charts).toEqual([
      {
        id: 'chart-speed-quality',
        type: 'scatter',
        series: ['F16', 'Q8_0', 'Q4_K_M'].map((label) => ({ label, points: 1 })),
      },
      {
        id: 'chart-memory',
        type: 'line',
        series: ['F16', 'Q8_0', 'Q4_K_M'].map((label) => ({ label, points: 4 })),
      },
      {
        id: 'chart-threads',
        type: 'line',
        series: ['F16', 'Q8_0', 'Q4_K_M'].map((label) => ({ label, points: 4 })),
      },
      {
        id: 'chart-predicted',
        type: 'bar',
        series: [
          { label: 'measured', points: 3 },
          { label: 'predicted', points: 3 },
        ],
      },
    ]);
    // Each canvas has pixels drawn on it, not only its background.
    const painted = await page.evaluate<number[]>(`[...document.querySelectorAll('canvas')].map((canvas) => {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let opaque = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) opaque++;
      return opaque / (canvas.width * canvas.height);
    })`);
    expect(painted).toHaveLength(4);
    for (const share of painted) expect(share).toBeGreaterThan(0.005);
    expect(await page.textContent('.choice')).toBe('Q8_0, context 4096, 3 threads, batch 512');
    // The model name arrives as text, not markup.
    expect(await page.textContent('h1')).toBe('Calibration of Qwen3 <0.6B> & "friends"');
    const screenshot = path.join(work, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 120_000);

  it('is one file: Chart.js and the data are inside it, and nothing is fetched', () => {
    const html = renderReport(CALIBRATION, { generated: '2026-01-01T00:00:00Z' });
    expect(html).toMatch(/Chart\.js v4\.\d+\.\d+/);
    // No external script, style sheet or image (the Chromium test sees no request either).
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=/);
    expect(html).toContain('&#60;0.6B&#62;');
  });

  it('refuses to replace an existing report without force', async () => {
    const file = path.join(work, 'kept.html');
    await writeReport(file, CALIBRATION);
    const first = readFileSync(file, 'utf8');
    await expect(writeReport(file, CALIBRATION)).rejects.toThrow(/already exists/);
    expect(readFileSync(file, 'utf8')).toBe(first);
  });
});
