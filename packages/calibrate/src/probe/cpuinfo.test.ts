import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseCpuInfo } from './cpuinfo.js';

// Arm kernels print one block per core and, on Raspberry Pi OS, a board block
// at the end (arch/arm64/kernel/cpuinfo.c, c_show; the board lines come from
// the Raspberry Pi kernel). These generate that shape for a given core list.
function armCpuInfo(parts: string[], features: string, board?: string): string {
  const cores = parts.map((part, i) =>
    [
      `processor\t: ${i}`,
      'BogoMIPS\t: 108.00',
      `Features\t: ${features}`,
      'CPU implementer\t: 0x41',
      'CPU architecture: 8',
      'CPU variant\t: 0x4',
      `CPU part\t: ${part}`,
      'CPU revision\t: 1',
    ].join('\n'),
  );
  const tail = board ? [`Revision\t: d04170\nSerial\t\t: 0123456789abcdef\nModel\t\t: ${board}`] : [];
  return `${[...cores, ...tail].join('\n\n')}\n`;
}

function x86CpuInfo(threads: Array<{ core: number; socket: number }>, flags: string): string {
  return threads
    .map(({ core, socket }, i) =>
      [
        `processor\t: ${i}`,
        'vendor_id\t: GenuineIntel',
        'model name\t: Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz',
        'cpu MHz\t\t: 1800.000',
        `physical id\t: ${socket}`,
        `siblings\t: ${threads.length}`,
        `core id\t\t: ${core}`,
        `flags\t\t: ${flags}`,
      ].join('\n'),
    )
    .join('\n\n');
}

const PI5_FEATURES =
  'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp';

describe('parseCpuInfo', () => {
  it("reads this machine's /proc/cpuinfo as the OS and lscpu see it", () => {
    const cpu = parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(cpu.architecture).toBe(process.arch === 'x64' ? 'x86_64' : 'aarch64');
    expect(cpu.logicalCores).toBe(os.cpus().length);
    if (cpu.architecture === 'x86_64') expect(cpu.model).toBe(os.cpus()[0].model);
    // lscpu counts cores from sysfs topology, not from cpuinfo: an independent witness.
    const lines = execFileSync('lscpu', ['-p=CORE,SOCKET'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(cpu.physicalCores).toBe(new Set(lines).size);
    const flags = execFileSync('lscpu', { encoding: 'utf8' });
    expect(cpu.simd.includes('avx2')).toBe(/\bavx2\b/.test(flags));
    expect(cpu.simd.includes('avx512f')).toBe(/\bavx512f\b/.test(flags));
  });

  it('names a Raspberry Pi 5 by its board and Cortex-A76 cores, with NEON, dotprod and fp16 but no i8mm or SVE', () => {
    const cpu = parseCpuInfo(
      armCpuInfo(['0xd0b', '0xd0b', '0xd0b', '0xd0b'], PI5_FEATURES, 'Raspberry Pi 5 Model B Rev 1.0'),
    );
    expect(cpu).toEqual({
      architecture: 'aarch64',
      model: 'Raspberry Pi 5 Model B Rev 1.0 (Cortex-A76)',
      logicalCores: 4,
      physicalCores: 4,
      simd: ['neon', 'fp16', 'dotprod'],
    });
  });

  it('names both core types of a big.LITTLE board, big cores first', () => {
    const parts = ['0xd05', '0xd05', '0xd05', '0xd05', '0xd0b', '0xd0b', '0xd0b', '0xd0b'];
    const cpu = parseCpuInfo(armCpuInfo(parts, PI5_FEATURES));
    expect(cpu.model).toBe('Cortex-A76 + Cortex-A55');
    expect(cpu.logicalCores).toBe(8);
  });

  it('reads SVE and i8mm on a Neoverse-V1 server core', () => {
    const cpu = parseCpuInfo(armCpuInfo(['0xd40'], `${PI5_FEATURES} sve i8mm bf16 svei8mm`));
    expect(cpu.model).toBe('Neoverse-V1');
    expect(cpu.simd).toEqual(['neon', 'fp16', 'dotprod', 'i8mm', 'bf16', 'sve']);
  });

  it('counts physical cores, not hyper-threads, on an SMT x86 machine', () => {
    const threads = [
      { core: 0, socket: 0 },
      { core: 1, socket: 0 },
      { core: 0, socket: 0 },
      { core: 1, socket: 0 },
    ];
    const cpu = parseCpuInfo(x86CpuInfo(threads, 'fpu sse sse2 pni ssse3 fma sse4_1 sse4_2 avx f16c avx2'));
    expect(cpu).toEqual({
      architecture: 'x86_64',
      model: 'Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz',
      logicalCores: 4,
      physicalCores: 2,
      mhz: 1800,
      simd: ['sse3', 'ssse3', 'sse4.1', 'sse4.2', 'avx', 'avx2', 'fma', 'f16c'],
    });
  });

  it('says unknown for a file of another architecture rather than guessing', () => {
    const cpu = parseCpuInfo('processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc\n');
    expect(cpu).toEqual({
      architecture: 'unknown',
      model: 'unknown processor',
      logicalCores: 1,
      physicalCores: 1,
      simd: [],
    });
  });
});
