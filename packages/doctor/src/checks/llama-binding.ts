import { parseCpuInfo, type SimdFeature } from '@alki/calibrate';
import { rooted } from '../lookup.js';
import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

// llama_print_system_info's names (ggml/src/ggml-cpu/ggml-cpu.c
// ggml_cpu_get_features) for instruction sets, as /proc/cpuinfo knows them.
// LLAMAFILE, REPACK, OPENMP and the like are build options, not instructions.
const FEATURES: Record<string, SimdFeature> = {
  SSE3: 'sse3',
  SSSE3: 'ssse3',
  AVX: 'avx',
  AVX2: 'avx2',
  F16C: 'f16c',
  FMA: 'fma',
  AVX_VNNI: 'avx-vnni',
  AVX512: 'avx512f',
  AVX512_VNNI: 'avx512-vnni',
  AVX512_BF16: 'avx512-bf16',
  AMX_INT8: 'amx-int8',
  NEON: 'neon',
  FP16_VA: 'fp16',
  DOTPROD: 'dotprod',
  MATMUL_INT8: 'i8mm',
  SVE: 'sve',
  SVE2: 'sve2',
};
const BUILD_OPTIONS = new Set(['LLAMAFILE', 'REPACK', 'OPENMP', 'ACCELERATE', 'KLEIDIAI', 'BLAS']);

/** The features a `CPU : SSE3 = 1 | AVX = 1 | ...` line says the binary uses. */
export function usedCpuFeatures(systemInfo: string): string[] {
  return [...systemInfo.matchAll(/([A-Z0-9_]+) = 1/g)].map((m) => m[1]).filter((f) => !BUILD_OPTIONS.has(f));
}

const NEEDED_BY = ['validate', 'serve', 'pack', 'calibrate'];

/**
 * node-llama-cpp's CPU binding, loaded in a child process as `alki validate`
 * loads it, and the CPU features it uses, each checked against /proc/cpuinfo.
 */
export async function checkLlamaBinding(probes: DoctorProbes): Promise<CheckResult> {
  const base = { id: 'llama.binding', title: 'node-llama-cpp', neededBy: NEEDED_BY };
  const binding = await probes.loadBinding();
  if (!binding.loaded) {
    return {
      ...base,
      status: 'fail',
      detail: `the llama.cpp binding does not load: ${binding.error}`,
      fix: /SIGILL/.test(binding.error)
        ? 'npx --no node-llama-cpp source build --gpu false (compiles llama.cpp for this CPU)'
        : 'npm ci (reinstalls node-llama-cpp and its prebuilt @node-llama-cpp/* binaries)',
    };
  }
  const used = usedCpuFeatures(binding.systemInfo);
  const cpuText = await probes.readText(rooted(probes, '/proc/cpuinfo'));
  const cpu = cpuText === undefined ? undefined : parseCpuInfo(cpuText);
  const missing = cpu ? used.filter((f) => FEATURES[f] && !cpu.simd.includes(FEATURES[f])) : [];
  const what = `node-llama-cpp ${binding.nodeLlamaCppVersion}, ${binding.buildType} binding of llama.cpp ${binding.release}`;
  if (missing.length) {
    return {
      ...base,
      status: 'fail',
      detail: `${what} uses ${missing.join(', ')}, which this CPU does not report`,
      fix: 'npx --no node-llama-cpp source build --gpu false (compiles llama.cpp for this CPU)',
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: `${what} loads; CPU features it uses: ${used.join(' ') || 'none'}${cpu ? '' : ' (no /proc/cpuinfo to compare with)'}`,
  };
}
