import { describe, expect, it } from '@jest/globals';
import os from 'node:os';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

describe('alki calibrate', () => {
  it('--probe-only --json prints the probe of this machine', async () => {
    const { code, stdout } = await runCli(['calibrate', '--probe-only', '--no-gpu', '--json']);
    expect(code).toBe(0);
    const probe = JSON.parse(stdout);
    expect(probe.cpu.logicalCores).toBe(os.cpus().length);
    expect(probe.memory.totalBytes).toBe(os.totalmem());
    expect(probe.bandwidth.copyGBps).toBeGreaterThan(0);
  }, 60_000);

  it('--probe-only prints one line per part for people', async () => {
    const { code, stdout } = await runCli(['calibrate', '--probe-only', '--no-gpu', '--no-bandwidth']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^cpu {8}.+, (x86_64|aarch64), \d+ cores/m);
    expect(stdout).toMatch(/^usable {5}\d+ cores, [\d.]+ GiB$/m);
    expect(stdout).not.toMatch(/^bandwidth/m);
  });

  it('refuses to run benchmarks this version cannot run yet, as a usage error', async () => {
    const { code, stderr } = await runCli(['calibrate']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/--probe-only/);
  });
});
