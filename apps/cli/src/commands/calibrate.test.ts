import { afterAll, describe, expect, it } from '@jest/globals';
import { readBundle, verifyBundle } from '@alki/bundler';
import {
  profileSchemaV1,
  type Calibration,
  type CalibrationProfile,
  type HardwareProbe,
} from '@alki/calibrate';
import { cachedSizedLlamaGguf } from '@alki/testkit';
import { Ajv } from 'ajv';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-cli-calibrate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Small measurements: one thread (2 busy cores), short tests, 4 windows of 64 tokens.
const QUICK = [
  '--quality-context',
  '64',
  '--chunks',
  '4',
  '--threads',
  '1',
  '--prompt-tokens',
  '32',
  '--gen-tokens',
  '8',
  '--repetitions',
  '1',
];

// The calibration fixture: an F32 llama big enough that Q4_K_M's KL
// divergence from Q8_0 is about a hundred times Q8_0's from F32.
function source(): Promise<string> {
  return cachedSizedLlamaGguf({ embedding: 256, feedForward: 768, layers: 2, seed: 3 });
}

describe('alki calibrate --probe-only', () => {
  it('--json prints the probe of this machine', async () => {
    const { code, stdout } = await runCli(['calibrate', '--probe-only', '--no-gpu', '--json']);
    expect(code).toBe(0);
    const probe = JSON.parse(stdout) as HardwareProbe;
    expect(probe.cpu.logicalCores).toBe(os.cpus().length);
    expect(probe.memory.totalBytes).toBe(os.totalmem());
    expect(probe.bandwidth?.copyGBps).toBeGreaterThan(0);
  }, 60_000);

  it('prints one line per part for people', async () => {
    const { code, stdout } = await runCli(['calibrate', '--probe-only', '--no-gpu', '--no-bandwidth']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^cpu {8}.+, (x86_64|aarch64), \d+ cores/m);
    expect(stdout).toMatch(/^usable {5}\d+ cores, [\d.]+ GiB$/m);
    expect(stdout).toMatch(/^gpu {8}not looked for \(--no-gpu\)$/m);
    expect(stdout).not.toMatch(/^bandwidth/m);
  });
});

describe('alki calibrate', () => {
  const bundle = path.join(work, 'bundle');
  const profile = path.join(work, 'host.json');

  it('calibrates a bundle under --max-kl, saves a profile that validates against the shipped schema, and applies the choice to the bundle', async () => {
    const packed = await runCli([
      'pack',
      await source(),
      '--quantize',
      'Q4_K_M,Q8_0',
      '--name',
      'calib',
      '--out',
      bundle,
    ]);
    expect(packed.code).toBe(0);
    expect((await readBundle(bundle)).runtime.model).toBe('./models/calib-q4_k_m.gguf');

    const { code, stdout } = await runCli([
      'calibrate',
      bundle,
      '--max-kl',
      '0.005',
      ...QUICK,
      '--save-profile',
      profile,
      '--apply',
      bundle,
      '--report',
      path.join(work, 'report.html'),
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Calibration;
    expect(result.engines).toEqual({ speed: 'llama-bench', quality: 'llama-perplexity' });
    // Q8_0 is the bundle's highest precision, so it is the reference.
    expect(result.models.map((m) => [m.quant, m.isBase])).toEqual([
      ['Q8_0', true],
      ['Q4_K_M', false],
    ]);
    // --json says where the time went, phase by phase.
    expect(result.timings.map((t) => (t.quant ? `${t.phase} ${t.quant}` : t.phase))).toEqual([
      'probe',
      'gpu',
      'bandwidth',
      'models',
      'quality Q8_0',
      'quality Q4_K_M',
      // One llama-bench over both quants.
      'speed',
      'recommend',
      'report',
      'apply',
    ]);
    expect(result.timings.find((t) => t.phase === 'quality')!.ms).toBeGreaterThan(0);
    const q4 = result.models[1];
    const q4Quality = q4.quality?.summary;
    expect(q4Quality && 'kld' in q4Quality ? q4Quality.kld.value : undefined).toBeGreaterThan(0.005);
    expect(q4.speed.samples.length).toBe(2);
    expect(result.result.recommendation).toMatchObject({ quant: 'Q8_0', context: 128, threads: 1 });
    expect(result.result.rejected).toEqual([
      expect.objectContaining({ option: 'Q4_K_M', constraint: 'max-kl' }),
    ]);

    const shipped = JSON.parse(
      readFileSync(new URL('../../../../packages/calibrate/schema/profile.v1.json', import.meta.url), 'utf8'),
    ) as object;
    const validate = new Ajv({ strict: true, allErrors: true }).compile(shipped);
    const saved = JSON.parse(readFileSync(profile, 'utf8')) as CalibrationProfile;
    expect(validate(saved) ? [] : validate.errors).toEqual([]);
    expect(shipped).toEqual(JSON.parse(JSON.stringify(profileSchemaV1)));
    expect(saved.recommendation?.quant).toBe('Q8_0');
    // The HTML report carries the same measurements (html-report.test.ts opens one in Chromium).
    expect(readFileSync(path.join(work, 'report.html'), 'utf8')).toMatch(/"quant":"Q4_K_M","kld":0\.0\d+/);

    const applied = await readBundle(bundle);
    expect(applied.runtime.model).toBe('./models/calib-q8_0.gguf');
    expect(applied.runtime.args).toMatchObject({ ctx: 128, threads: 1 });
    const unit = readFileSync(path.join(bundle, 'deploy/systemd/alki-calib.service'), 'utf8');
    // llama-server gets 128 tokens for each of the bundle's 4 slots.
    expect(unit).toMatch(/calib-q8_0\.gguf.*--ctx-size 512 --parallel 4\b.*--threads 1\b/s);
    // The bundle records the device it was calibrated on: this machine, by its own probe.
    expect(applied.runtime.accelerator).toEqual({
      backend: saved.device.hardware.gpu.backend ?? 'cpu',
      devices: saved.device.hardware.gpu.devices,
      vram_bytes: saved.device.hardware.gpu.vramTotalBytes,
      cpu_architecture: process.arch === 'arm64' ? 'aarch64' : 'x86_64',
      device: os.hostname(),
      source: 'probe',
    });
    expect((await verifyBundle(bundle)).problems).toEqual([]);
  }, 600_000);

  it("pack --profile serves the profile's quant, context and threads, and records its accelerator", async () => {
    const out = path.join(work, 'from-profile');
    const { code, stderr } = await runCli([
      'pack',
      await source(),
      '--quantize',
      'Q4_K_M,Q8_0',
      '--name',
      'calib',
      '--out',
      out,
      '--profile',
      profile,
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/Serving Q8_0 at context 128 with 1 thread,/);
    const { runtime } = await readBundle(out);
    expect(runtime.model).toBe('./models/calib-q8_0.gguf');
    expect(runtime.args).toMatchObject({ ctx: 128, threads: 1 });
    expect(runtime.accelerator).toMatchObject({ device: os.hostname(), source: 'probe' });
    const deployment = readFileSync(path.join(out, 'deploy/k3s/deployment.yaml'), 'utf8');
    expect(deployment).toMatch(/calib-q8_0\.gguf/);
    expect(deployment).toContain(`alki.dev/accelerator: "${runtime.accelerator!.backend}"`);
    expect((await verifyBundle(out)).problems).toEqual([]);
  }, 300_000);

  it('exits 1 naming the broken constraint when nothing meets them, and still prints the measurements', async () => {
    const { code, stdout, stderr } = await runCli([
      'calibrate',
      await source(),
      '--no-quality',
      '--min-tokens-per-second',
      '1000000000',
      ...QUICK,
    ]);
    expect(code).toBe(EXIT_CODES.checkFailed);
    expect(stdout).toMatch(
      /^F32 .*\n[\s\S]*rejected:\n {2}F32 \(min-tokens-per-second\): generates [\d.]+ tokens\/s at best/m,
    );
    expect(stderr).toMatch(/^error: No quant meets every constraint/m);
  }, 300_000);

  it("--emulate rpi4 measures in a cgroup with the Pi's share of this CPU and its memory, beside the bandwidth prediction", async () => {
    const { code, stdout } = await runCli([
      'calibrate',
      await source(),
      '--no-quality',
      '--emulate',
      'rpi4',
      ...QUICK.slice(6),
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Calibration;
    const emulation = result.emulation!;
    expect(emulation.method).toBe('cgroup-v1');
    expect(emulation.device.id).toBe('rpi4');
    // A Pi 4 computes less than one of this machine's cores.
    expect(emulation.limits.cpuCores).toBeLessThan(1);
    expect(emulation.limits.memoryBytes).toBe(4 * 1024 ** 3);
    expect(emulation.memory.peakBytes).toBeLessThanOrEqual(4 * 1024 ** 3);
    // The recommendation is for the Pi's memory, not this machine's.
    expect(result.probe.usable.memoryBytes).toBeLessThan(4 * 1024 ** 3);
    const [model] = result.models;
    expect(model.prediction).toMatchObject({
      machine: 'rpi4',
      bound: expect.stringMatching(/bandwidth|compute/),
    });
    expect(model.prediction.generationTokensPerSecond).toBeGreaterThan(0);
  }, 300_000);

  it("prints the predictor's error against what this machine measured", async () => {
    const { code, stdout } = await runCli(['calibrate', await source(), '--no-quality', ...QUICK.slice(4)]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^F32 +[\d.]+ +[\d.]+ +(bandwidth|compute) +[+-]\d+%$/m);
    expect(stdout).toMatch(/^predictor error on this machine: mean \d+% of measured generation speed/m);
  }, 300_000);

  it('refuses a --max-memory it cannot read as a usage error', async () => {
    const { code, stderr } = await runCli(['calibrate', await source(), '--max-memory', 'lots']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--max-memory must be a size such as 2GiB/);
  });

  it('pack --profile refuses a profile that is not one', async () => {
    const bad = path.join(work, 'bad.json');
    writeFileSync(bad, '{"schemaVersion": 2}');
    const { code, stderr } = await runCli([
      'pack',
      await source(),
      '--out',
      path.join(work, 'x'),
      '--profile',
      bad,
    ]);
    expect(code).toBe(EXIT_CODES.inputInvalid);
    expect(stderr).toMatch(/is not a version 1 calibration profile/);
  });
});
