import type { Llama, LlamaGpuType } from 'node-llama-cpp';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What node-llama-cpp finds of the GPUs. */
export interface GpuProbe {
  /** The GPU backend node-llama-cpp could load (`cuda`, `vulkan`, `metal`), or null for CPU only. */
  backend: string | null;
  /** Device names, as the backend reports them. */
  devices: string[];
  /** Memory of all devices together, in bytes (0 without a GPU). */
  vramTotalBytes: number;
  vramFreeBytes: number;
  /** Memory the GPU shares with the CPU (Apple silicon, Jetson), in bytes; 0 when separate. */
  unifiedBytes: number;
}

/** Loads node-llama-cpp with the best GPU backend it has a binary for; a seam for tests. */
export type LoadLlama = () => Promise<Llama>;

/**
 * The backends `getLlama({ gpu: 'auto' })` would try on this machine, best
 * first (`false` is the CPU build): node-llama-cpp's
 * `getLlamaGpuTypes('supported')`. A seam for tests.
 */
export type FindGpuTypes = () => Promise<LlamaGpuType[]>;

export interface GpuProbeOptions {
  loadLlama?: LoadLlama;
  findGpuTypes?: FindGpuTypes;
}

// Loaded on demand: node-llama-cpp's index loads the whole library, about
// 0.4 s of module loading that every `alki calibrate` would pay otherwise.
const loadAnyBackend: LoadLlama = async () => {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  // `auto` tries CUDA, Vulkan and Metal builds before the CPU one; `never`
  // keeps it from compiling llama.cpp when no prebuilt binary fits.
  return getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
};

// The module of node-llama-cpp (3.21) that holds getLlamaGpuTypes, inside
// the package: it loads in about 70 ms where the package's index takes 0.4 s.
const GPU_TYPES_MODULE = 'bindings/utils/getLlamaGpuTypes.js';

// getLlama({ gpu: 'auto' }) tries exactly these types (getLlama.js,
// getGpuTypesToUseForOption('auto'): a backend is listed when its driver and
// runtime libraries are installed), so when none is a GPU it can only load
// the CPU build, and the probe need not load the library to learn that.
const findSupportedGpuTypes: FindGpuTypes = async () => {
  const index = createRequire(import.meta.url).resolve('node-llama-cpp');
  const inside = (await import(pathToFileURL(path.join(path.dirname(index), GPU_TYPES_MODULE)).href).catch(
    () => undefined,
  )) as { getLlamaGpuTypes?: unknown } | undefined;
  // Another version may have moved it: the package's own export always works.
  const getLlamaGpuTypes =
    typeof inside?.getLlamaGpuTypes === 'function'
      ? (inside.getLlamaGpuTypes as (include: 'supported') => Promise<LlamaGpuType[]>)
      : (await import('node-llama-cpp')).getLlamaGpuTypes;
  return getLlamaGpuTypes('supported');
};

/** The probe's answer for a machine without a usable GPU. */
export const NO_GPU: GpuProbe = {
  backend: null,
  devices: [],
  vramTotalBytes: 0,
  vramFreeBytes: 0,
  unifiedBytes: 0,
};

/**
 * GPUs and their memory through node-llama-cpp, the same library that serves
 * models in `alki serve`: what it can use is what a deployment gets. When no
 * GPU backend has its libraries installed, node-llama-cpp would load its CPU
 * build, so the probe answers without loading it.
 *
 * @example
 * const gpu = await probeGpus();
 * if (gpu.backend) console.log(gpu.devices, gpu.vramFreeBytes);
 */
export async function probeGpus(options: GpuProbeOptions = {}): Promise<GpuProbe> {
  const gpuTypes = await (options.findGpuTypes ?? findSupportedGpuTypes)();
  if (!gpuTypes.some((type) => type !== false)) return { ...NO_GPU };
  const llama = await (options.loadLlama ?? loadAnyBackend)();
  try {
    if (llama.gpu === false) return { ...NO_GPU };
    const vram = await llama.getVramState();
    return {
      backend: llama.gpu,
      devices: await llama.getGpuDeviceNames(),
      vramTotalBytes: vram.total,
      vramFreeBytes: vram.free,
      unifiedBytes: vram.unifiedSize,
    };
  } finally {
    await llama.dispose();
  }
}
