import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';

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

const loadAnyBackend: LoadLlama = () =>
  // `auto` tries CUDA, Vulkan and Metal builds before the CPU one; `never`
  // keeps it from compiling llama.cpp when no prebuilt binary fits.
  getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });

/**
 * GPUs and their memory through node-llama-cpp, the same library that serves
 * models in `alki serve`: what it can use is what a deployment gets.
 *
 * @example
 * const gpu = await probeGpus();
 * if (gpu.backend) console.log(gpu.devices, gpu.vramFreeBytes);
 */
export async function probeGpus(load: LoadLlama = loadAnyBackend): Promise<GpuProbe> {
  const llama = await load();
  try {
    if (llama.gpu === false) {
      return { backend: null, devices: [], vramTotalBytes: 0, vramFreeBytes: 0, unifiedBytes: 0 };
    }
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
