import { describe, expect, it } from '@jest/globals';
import { emulationLimits } from '../calibrate.js';
import { findDevice } from '../devices/catalogue.js';
import type { HardwareProbe } from '../probe/probe.js';
import { deviceMachine, hostMachine, predictSpeed } from './predict.js';

const GIB = 1024 ** 3;

// A 2-core AVX-512 server at 2.1 GHz with 20 GB/s of copy bandwidth.
const HOST: HardwareProbe = {
  hostname: 'host',
  os: { platform: 'linux', release: '6' },
  cpu: {
    architecture: 'x86_64',
    model: 'EPYC',
    logicalCores: 2,
    physicalCores: 2,
    mhz: 2100,
    simd: ['avx2', 'fma', 'avx512f'],
  },
  memory: { totalBytes: 24 * GIB, availableBytes: 20 * GIB, swapTotalBytes: 0 },
  cgroup: { version: 'v1' },
  usable: { cores: 2, memoryBytes: 20 * GIB },
  gpu: { backend: null, devices: [], vramTotalBytes: 0, vramFreeBytes: 0, unifiedBytes: 0 },
  bandwidth: { copyGBps: 20, singleThreadGBps: 15, threads: 2, bufferBytes: 1, repetitions: 1 },
};

describe('predictSpeed', () => {
  it('bounds generation by bandwidth: 0.8 of the copy bandwidth over the weights read per token', () => {
    // Raspberry Pi 5: 17.1 GB/s peak, 0.6 of it sustained, 0.8 of that per token pass.
    const prediction = predictSpeed(deviceMachine(findDevice('rpi5')), {
      weightsBytes: 4e9,
      parameterCount: 7e9,
    });
    expect(prediction.bound).toBe('bandwidth');
    expect(prediction.generationTokensPerSecond).toBeCloseTo((0.8 * 17.1 * 0.6 * 1e9) / 4e9, 6);
  });

  it('bounds generation by compute on a slow core with fast memory', () => {
    const machine = { name: 'slow', cores: 1, computeGflops: 1, copyBandwidthGBps: 100 };
    const prediction = predictSpeed(machine, { weightsBytes: 1e8, parameterCount: 1e8 });
    expect(prediction).toEqual({ generationTokensPerSecond: (0.25 * 1e9) / 2e8, bound: 'compute' });
  });

  it('scales measured prompt speed by compute, for the threads that measured it', () => {
    const host = hostMachine(HOST);
    expect(host.computeGflops).toBeCloseTo(2 * 2.1 * 64, 6);
    const rpi5 = deviceMachine(findDevice('rpi5'));
    // 100 tok/s on one of the host's two cores; the Pi has 4 x 2.4 GHz x 16.
    const prediction = predictSpeed(
      rpi5,
      { weightsBytes: 1e9, parameterCount: 1e9 },
      {
        machine: host,
        promptTokensPerSecond: 100,
        threads: 1,
      },
    );
    expect(prediction.promptTokensPerSecond).toBeCloseTo((100 * 153.6) / 134.4, 6);
  });
});

describe('emulationLimits', () => {
  it("gives a device its compute as a share of this machine's cores, and its memory", () => {
    expect(emulationLimits(findDevice('rpi5'), HOST, hostMachine(HOST))).toEqual({
      cpuCores: 1.14,
      memoryBytes: 8 * GIB,
    });
    // A Pi 4 has less than half a host core of compute.
    expect(emulationLimits(findDevice('rpi4'), HOST, hostMachine(HOST)).cpuCores).toBeCloseTo(
      57.6 / 134.4,
      2,
    );
    // A device faster than this machine gets all of it, and no more memory than is here.
    expect(emulationLimits(findDevice('jetson-agx-orin'), HOST, hostMachine(HOST))).toEqual({
      cpuCores: 2,
      memoryBytes: 20 * GIB,
    });
  });
});

describe('the device catalogue', () => {
  it('names its sources for every device, and its figures are positive', () => {
    expect(() => findDevice('rpi9')).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('rpi5, rpi5-4gb, rpi4') }),
    );
    for (const id of ['rpi5', 'rpi4', 'jetson-orin-nano', 'intel-n100']) {
      const device = findDevice(id);
      expect(device.sources.every((s) => s.startsWith('https://'))).toBe(true);
      expect(
        device.cores *
          device.clockGHz *
          device.flopsPerCycle *
          device.memoryBandwidthGBps *
          device.memoryBytes,
      ).toBeGreaterThan(0);
    }
  });
});
