import { describe, expect, it } from '@jest/globals';
import type { Llama } from 'node-llama-cpp';
import { importRefusing } from '@alki/testkit';
import { probeGpus } from './gpu.js';

const NO_GPU = { backend: null, devices: [], vramTotalBytes: 0, vramFreeBytes: 0, unifiedBytes: 0 };

/** A stand-in for node-llama-cpp loaded with `backend`, which records whether it was loaded and released. */
function fakeLlama(gpu: string | false) {
  const calls = { loaded: 0, disposed: 0 };
  const llama = {
    gpu,
    getVramState: () => Promise.resolve({ total: 8e9, used: 1e9, free: 7e9, unifiedSize: 0 }),
    getGpuDeviceNames: () => Promise.resolve(['NVIDIA Orin']),
    dispose: () => {
      calls.disposed++;
      return Promise.resolve();
    },
  } as unknown as Llama;
  const loadLlama = () => {
    calls.loaded++;
    return Promise.resolve(llama);
  };
  return { calls, loadLlama };
}

describe('probeGpus', () => {
  // No GPU exists here; this stands in for node-llama-cpp on a CUDA machine.
  it("reports a backend's devices and memory as node-llama-cpp gives them, and releases the library", async () => {
    const { calls, loadLlama } = fakeLlama('cuda');
    expect(await probeGpus({ loadLlama, findGpuTypes: () => Promise.resolve(['cuda', false]) })).toEqual({
      backend: 'cuda',
      devices: ['NVIDIA Orin'],
      vramTotalBytes: 8e9,
      vramFreeBytes: 7e9,
      unifiedBytes: 0,
    });
    expect(calls).toEqual({ loaded: 1, disposed: 1 });
  });

  it('reports no GPU when node-llama-cpp falls back to its CPU build', async () => {
    const { calls, loadLlama } = fakeLlama(false);
    expect(await probeGpus({ loadLlama, findGpuTypes: () => Promise.resolve(['vulkan', false]) })).toEqual(
      NO_GPU,
    );
    expect(calls).toEqual({ loaded: 1, disposed: 1 });
  });

  it('does not load node-llama-cpp when no GPU backend has its libraries installed', async () => {
    const { calls, loadLlama } = fakeLlama('cuda');
    expect(await probeGpus({ loadLlama, findGpuTypes: () => Promise.resolve([false]) })).toEqual(NO_GPU);
    expect(calls).toEqual({ loaded: 0, disposed: 0 });
  });

  it("loads node-llama-cpp exactly when its getLlamaGpuTypes('supported') lists a GPU backend on this machine", async () => {
    const { getLlamaGpuTypes } = await import('node-llama-cpp');
    const supported = await getLlamaGpuTypes('supported');
    const { calls, loadLlama } = fakeLlama(false);
    expect(await probeGpus({ loadLlama })).toEqual(NO_GPU);
    expect(calls.loaded).toBe(supported.some((type) => type !== false) ? 1 : 0);
  });
});

describe('loading @alki/calibrate', () => {
  const importRefusingNodeLlamaCpp = (entry: string) =>
    importRefusing(new URL(entry, import.meta.url), 'node-llama-cpp');

  it('does not load node-llama-cpp (the GPU probe and the workers load it when they run)', () => {
    const run = importRefusingNodeLlamaCpp('../index.ts');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);

  it('would notice a static import of node-llama-cpp (the worker has one)', () => {
    const run = importRefusingNodeLlamaCpp('../worker/worker.ts');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/node-llama-cpp imported by .*worker\.ts/);
  }, 60_000);
});
