// A model of a machine's llama.cpp speed from its hardware. Generating a token
// reads every weight once, so generation is bound by memory bandwidth (or, on
// a slow core, by arithmetic); prompt processing is batched matrix work, so
// it scales with compute. Pure.
import type { DeviceProfile } from '../devices/catalogue.js';
import type { HardwareProbe } from '../probe/probe.js';

/**
 * The share of copy bandwidth a generated token's weight pass achieves. An
 * assumption (llama.cpp's matrix-vector kernels stream weights nearly as fast
 * as memcpy on CPUs), checked against this machine by the host validation.
 */
export const GENERATION_BANDWIDTH_EFFICIENCY = 0.8;
/**
 * The share of a catalogue device's theoretical peak bandwidth a copy test
 * reaches: an assumption for LPDDR and single-channel DDR systems.
 */
export const SUSTAINED_BANDWIDTH_SHARE = 0.6;
/** The share of peak FP32 throughput a matrix-vector product reaches when bandwidth is not the bound. */
export const GENERATION_COMPUTE_EFFICIENCY = 0.25;

/** What the predictor knows of a machine. */
export interface MachineModel {
  name: string;
  cores: number;
  /** Peak FP32 GFLOP/s of all cores. */
  computeGflops: number;
  /** Sustained copy bandwidth, GB/s (STREAM's counting). */
  copyBandwidthGBps: number;
}

/** The model's size as the predictor needs it. */
export interface ModelSize {
  weightsBytes: number;
  parameterCount: number;
}

export interface SpeedPrediction {
  generationTokensPerSecond: number;
  /** Which limit set the generation figure. */
  bound: 'bandwidth' | 'compute';
  /** Prompt speed, scaled from a measured machine by compute; absent without one. */
  promptTokensPerSecond?: number;
}

// FP32 operations per core per cycle from the SIMD features: 2 FMA pipes of
// the widest vector (AVX-512 16 lanes, AVX2 8, NEON 4) x 2 operations.
function flopsPerCycle(simd: readonly string[]): number {
  if (simd.includes('avx512f')) return 64;
  if (simd.includes('avx2') && simd.includes('fma')) return 32;
  if (simd.includes('neon') || simd.includes('avx')) return 16;
  return 8;
}

/** This machine, from its probe. Without a measured clock, 2 GHz is assumed. */
export function hostMachine(probe: HardwareProbe): MachineModel {
  const ghz = (probe.cpu.mhz ?? 2000) / 1000;
  return {
    name: probe.hostname,
    cores: probe.usable.cores,
    computeGflops: probe.usable.cores * ghz * flopsPerCycle(probe.cpu.simd),
    copyBandwidthGBps: probe.bandwidth?.copyGBps ?? 0,
  };
}

/** A catalogue device. */
export function deviceMachine(device: DeviceProfile): MachineModel {
  return {
    name: device.id,
    cores: device.cores,
    computeGflops: device.cores * device.clockGHz * device.flopsPerCycle,
    copyBandwidthGBps: device.memoryBandwidthGBps * SUSTAINED_BANDWIDTH_SHARE,
  };
}

/**
 * Predicts a machine's generation speed for a model, and its prompt speed
 * from a machine where prompt speed was measured (scaled by compute, for the
 * threads that were used there).
 *
 * @example
 * predictSpeed(deviceMachine(findDevice('rpi5')), { weightsBytes: 4.7e8, parameterCount: 8e8 });
 */
export function predictSpeed(
  target: MachineModel,
  model: ModelSize,
  measured?: { machine: MachineModel; promptTokensPerSecond: number; threads: number },
): SpeedPrediction {
  const bandwidthBound =
    model.weightsBytes > 0
      ? (GENERATION_BANDWIDTH_EFFICIENCY * target.copyBandwidthGBps * 1e9) / model.weightsBytes
      : Infinity;
  const computeBound =
    model.parameterCount > 0
      ? (GENERATION_COMPUTE_EFFICIENCY * target.computeGflops * 1e9) / (2 * model.parameterCount)
      : Infinity;
  const prediction: SpeedPrediction = {
    generationTokensPerSecond: Math.min(bandwidthBound, computeBound),
    bound: bandwidthBound <= computeBound ? 'bandwidth' : 'compute',
  };
  if (measured && measured.machine.computeGflops > 0) {
    const usedCompute =
      (measured.machine.computeGflops * Math.min(measured.threads, measured.machine.cores)) /
      measured.machine.cores;
    prediction.promptTokensPerSecond = (measured.promptTokensPerSecond * target.computeGflops) / usedCompute;
  }
  return prediction;
}
