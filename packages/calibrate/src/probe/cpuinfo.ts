// A pure reader of Linux's /proc/cpuinfo, for x86 and Arm. The file has one
// block of `key : value` lines per logical CPU; x86 kernels name the model
// and list `flags`, Arm kernels list `Features` and identify the core by
// implementer and part numbers instead of a name.

/** The SIMD features llama.cpp's CPU backend chooses kernels by, under one spelling for both architectures. */
export type SimdFeature =
  | 'sse3'
  | 'ssse3'
  | 'sse4.1'
  | 'sse4.2'
  | 'avx'
  | 'avx2'
  | 'fma'
  | 'f16c'
  | 'avx-vnni'
  | 'avx512f'
  | 'avx512bw'
  | 'avx512vl'
  | 'avx512-vnni'
  | 'avx512-bf16'
  | 'amx-int8'
  | 'neon'
  | 'fp16'
  | 'dotprod'
  | 'i8mm'
  | 'bf16'
  | 'sve'
  | 'sve2';

export type CpuArchitecture = 'x86_64' | 'aarch64' | 'unknown';

/** What /proc/cpuinfo says about the processor. */
export interface CpuInfo {
  architecture: CpuArchitecture;
  /** `AMD EPYC 7763`, `Cortex-A76`; the board name when an Arm kernel gives one (`Raspberry Pi 5 Model B`). */
  model: string;
  logicalCores: number;
  /** Distinct (package, core) pairs on x86; Arm cores have no SMT, so the logical count. */
  physicalCores: number;
  /** The clock of the first CPU as the kernel reports it, when it does (x86 `cpu MHz`). */
  mhz?: number;
  simd: SimdFeature[];
}

// /proc/cpuinfo `flags` (x86, arch/x86/include/asm/cpufeatures.h names) to ours.
const X86_FLAGS: Record<string, SimdFeature> = {
  pni: 'sse3',
  ssse3: 'ssse3',
  sse4_1: 'sse4.1',
  sse4_2: 'sse4.2',
  avx: 'avx',
  avx2: 'avx2',
  fma: 'fma',
  f16c: 'f16c',
  avx_vnni: 'avx-vnni',
  avx512f: 'avx512f',
  avx512bw: 'avx512bw',
  avx512vl: 'avx512vl',
  avx512_vnni: 'avx512-vnni',
  avx512_bf16: 'avx512-bf16',
  amx_int8: 'amx-int8',
};

// /proc/cpuinfo `Features` (arm64, arch/arm64/kernel/cpuinfo.c hwcap_str) to ours.
const ARM_FEATURES: Record<string, SimdFeature> = {
  asimd: 'neon',
  asimdhp: 'fp16',
  asimddp: 'dotprod',
  i8mm: 'i8mm',
  bf16: 'bf16',
  sve: 'sve',
  sve2: 'sve2',
};

// Core names by MIDR implementer and part number (Linux
// arch/arm64/include/asm/cputype.h, ARM_CPU_PART_*), for the cores edge
// boards use; others print as `Arm part 0x...`.
const ARM_PARTS: Record<string, string> = {
  '0x41:0xd03': 'Cortex-A53',
  '0x41:0xd04': 'Cortex-A35',
  '0x41:0xd05': 'Cortex-A55',
  '0x41:0xd07': 'Cortex-A57',
  '0x41:0xd08': 'Cortex-A72',
  '0x41:0xd09': 'Cortex-A73',
  '0x41:0xd0a': 'Cortex-A75',
  '0x41:0xd0b': 'Cortex-A76',
  '0x41:0xd0c': 'Neoverse-N1',
  '0x41:0xd0d': 'Cortex-A77',
  '0x41:0xd0e': 'Cortex-A76AE',
  '0x41:0xd40': 'Neoverse-V1',
  '0x41:0xd41': 'Cortex-A78',
  '0x41:0xd42': 'Cortex-A78AE',
  '0x41:0xd44': 'Cortex-X1',
  '0x41:0xd46': 'Cortex-A510',
  '0x41:0xd47': 'Cortex-A710',
  '0x41:0xd48': 'Cortex-X2',
  '0x41:0xd49': 'Neoverse-N2',
  '0x41:0xd4b': 'Cortex-A78C',
  '0x41:0xd4f': 'Neoverse-V2',
  '0x41:0xd80': 'Cortex-A520',
  '0x41:0xd81': 'Cortex-A720',
};

type Block = Map<string, string>;

function blocks(text: string): Block[] {
  const result: Block[] = [];
  let current: Block = new Map();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (line.trim() === '') {
      if (current.size > 0) result.push(current);
      current = new Map();
      continue;
    }
    if (colon < 0) continue;
    current.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (current.size > 0) result.push(current);
  return result;
}

function features(words: string[], table: Record<string, SimdFeature>): SimdFeature[] {
  const found = new Set<SimdFeature>();
  for (const word of words) {
    const feature = table[word];
    if (feature) found.add(feature);
  }
  // A stable order (the table's) so that two probes of one machine compare equal.
  return Object.values(table).filter((feature) => found.has(feature));
}

/**
 * Reads /proc/cpuinfo text: the architecture, model, logical and physical
 * cores, and the SIMD features that matter to llama.cpp.
 *
 * @example
 * const cpu = parseCpuInfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
 * cpu.simd.includes('avx2');
 */
export function parseCpuInfo(text: string): CpuInfo {
  const all = blocks(text);
  const processors = all.filter((block) => block.has('processor'));
  // Arm kernels end the file with a block of board-wide keys (Hardware, Model, Revision).
  const board = all.find((block) => !block.has('processor'));
  const first = processors[0] ?? new Map<string, string>();
  const logicalCores = Math.max(1, processors.length);
  if (first.has('flags')) {
    const pairs = new Set(
      processors.map((p) => `${p.get('physical id') ?? '0'}:${p.get('core id') ?? p.get('processor')}`),
    );
    const mhz = Number(first.get('cpu mhz'));
    return {
      architecture: 'x86_64',
      model: first.get('model name') ?? 'unknown x86-64 processor',
      logicalCores,
      physicalCores: Math.max(1, Math.min(pairs.size, logicalCores)),
      ...(Number.isFinite(mhz) && mhz > 0 ? { mhz } : {}),
      simd: features((first.get('flags') ?? '').split(/\s+/), X86_FLAGS),
    };
  }
  if (first.has('features')) {
    const implementer = (first.get('cpu implementer') ?? '').toLowerCase();
    const part = (first.get('cpu part') ?? '').toLowerCase();
    const core = ARM_PARTS[`${implementer}:${part}`] ?? (part ? `Arm part ${part}` : 'unknown Arm processor');
    // Big.LITTLE boards list two parts; name both, big first as the kernel numbers them last.
    const parts = [...new Set(processors.map((p) => (p.get('cpu part') ?? '').toLowerCase()))];
    const cores =
      parts.length > 1
        ? parts
            .map((p) => ARM_PARTS[`${implementer}:${p}`] ?? `Arm part ${p}`)
            .reverse()
            .join(' + ')
        : core;
    const boardName = board?.get('model') ?? first.get('model name');
    return {
      architecture: 'aarch64',
      model: boardName ? `${boardName} (${cores})` : cores,
      logicalCores,
      physicalCores: logicalCores,
      simd: features((first.get('features') ?? '').split(/\s+/), ARM_FEATURES),
    };
  }
  return {
    architecture: 'unknown',
    model: 'unknown processor',
    logicalCores,
    physicalCores: logicalCores,
    simd: [],
  };
}
