import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { CalibrateError } from '../errors.js';
import { bufferBytesFor, measureMemoryBandwidth, type BandwidthMeasurement } from './bandwidth.js';
import { readLastLevelCacheBytes } from './cache.js';
import { readCgroupLimits, type CgroupLimits, type ReadText } from './cgroup.js';
import { parseCpuInfo, type CpuInfo } from './cpuinfo.js';
import { NO_GPU, probeGpus, type FindGpuTypes, type GpuProbe, type LoadLlama } from './gpu.js';
import { parseMemInfo, type MemInfo } from './meminfo.js';

/** Everything the probe found about one machine. */
export interface HardwareProbe {
  hostname: string;
  /** `linux`, with the kernel release. */
  os: { platform: string; release: string };
  cpu: CpuInfo;
  memory: MemInfo;
  cgroup: CgroupLimits;
  /** What a model server on this machine can use: the hardware, narrowed by the cgroup limits. */
  usable: {
    /** Whole cores: logical cores, at most the cpuset, at most the CPU quota rounded down (at least 1). */
    cores: number;
    /** Available memory, at most the cgroup's memory limit. */
    memoryBytes: number;
  };
  gpu: GpuProbe;
  /** Absent when the probe was asked not to measure it. */
  bandwidth?: BandwidthMeasurement;
}

export interface ProbeOptions {
  /** Reads /proc and /sys files; the real file system by default. */
  read?: ReadText;
  /** Measure memory bandwidth (about 0.2 s). Default true. */
  bandwidth?: boolean;
  /**
   * Look for GPUs through node-llama-cpp. Default true. Without GPU libraries
   * installed this takes tens of milliseconds; with them, node-llama-cpp
   * loads its best GPU build (a second or two).
   */
  gpu?: boolean;
  /** Loads node-llama-cpp for the GPU probe; a seam for tests. */
  loadLlama?: LoadLlama;
  /** Lists the GPU backends node-llama-cpp would try; a seam for tests. */
  findGpuTypes?: FindGpuTypes;
  hostname?: string;
  signal?: AbortSignal;
  /** Called with the wall time of each part as it ends: the files, the GPU search, the bandwidth test. */
  onPhase?: (phase: ProbePhase, ms: number) => void;
}

/** The parts of a probe that take time of their own. */
export type ProbePhase = 'probe' | 'gpu' | 'bandwidth';

const readReal: ReadText = (file) => readFile(file, 'utf8').catch(() => undefined);

/**
 * Probes the machine: CPU model, cores and SIMD features from /proc/cpuinfo,
 * memory from /proc/meminfo, cgroup CPU and memory limits, GPUs through
 * node-llama-cpp, and a measured memory bandwidth.
 *
 * @example
 * const probe = await probeHardware();
 * console.log(probe.cpu.model, probe.usable.cores, probe.bandwidth?.copyGBps);
 */
export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareProbe> {
  const read = options.read ?? readReal;
  let started = performance.now();
  const phaseEnded = (phase: ProbePhase) => {
    const now = performance.now();
    options.onPhase?.(phase, now - started);
    started = now;
  };
  const cpuText = await read('/proc/cpuinfo');
  const memText = await read('/proc/meminfo');
  if (cpuText === undefined || memText === undefined) {
    throw new CalibrateError(
      'UNSUPPORTED_ENVIRONMENT',
      'The hardware probe needs /proc/cpuinfo and /proc/meminfo, which this system does not have.',
      {
        hint: 'Run calibrate on Linux, or pass --emulate with a device from the catalogue.',
      },
    );
  }
  const cpu = parseCpuInfo(cpuText);
  const memory = parseMemInfo(memText);
  const cgroup = await readCgroupLimits(read);
  const cores = Math.max(
    1,
    Math.min(
      cpu.logicalCores,
      cgroup.cpusetCores ?? Infinity,
      cgroup.cpuLimitCores !== undefined ? Math.floor(cgroup.cpuLimitCores) : Infinity,
    ),
  );
  const memoryBytes = Math.min(memory.availableBytes, cgroup.memoryLimitBytes ?? Infinity);
  phaseEnded('probe');
  options.signal?.throwIfAborted();
  const gpu =
    options.gpu === false
      ? { ...NO_GPU }
      : await probeGpus({ loadLlama: options.loadLlama, findGpuTypes: options.findGpuTypes });
  if (options.gpu !== false) phaseEnded('gpu');
  options.signal?.throwIfAborted();
  const bandwidth =
    options.bandwidth === false
      ? undefined
      : await measureMemoryBandwidth({
          threads: cores,
          bufferBytes: bufferBytesFor(await readLastLevelCacheBytes(read)),
          signal: options.signal,
        });
  if (bandwidth) phaseEnded('bandwidth');
  return {
    hostname: options.hostname ?? os.hostname(),
    os: { platform: process.platform, release: os.release() },
    cpu,
    memory,
    cgroup,
    usable: { cores, memoryBytes },
    gpu,
    ...(bandwidth ? { bandwidth } : {}),
  };
}
