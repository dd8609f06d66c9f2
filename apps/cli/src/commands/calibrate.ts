import { CalibrateError, probeHardware, type HardwareProbe } from '@alki/calibrate';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';
import { formatBytes } from '../format.js';

interface CalibrateArgs extends GlobalOptions {
  probeOnly: boolean;
  bandwidth: boolean;
  gpu: boolean;
}

function renderProbe(probe: HardwareProbe): string {
  const { cpu, memory, cgroup, usable, gpu, bandwidth } = probe;
  const cores =
    cpu.physicalCores === cpu.logicalCores
      ? `${cpu.logicalCores} cores`
      : `${cpu.physicalCores} cores, ${cpu.logicalCores} threads`;
  const limits = [
    cgroup.cpuLimitCores !== undefined ? `CPU quota ${cgroup.cpuLimitCores} cores` : 'no CPU quota',
    cgroup.cpusetCores !== undefined ? `cpuset ${cgroup.cpusetCores} CPUs` : '',
    cgroup.memoryLimitBytes !== undefined
      ? `memory limit ${formatBytes(cgroup.memoryLimitBytes)}`
      : 'no memory limit',
  ].filter(Boolean);
  const gpuLine = gpu.backend
    ? `${gpu.backend}: ${gpu.devices.join(', ') || 'unnamed device'}, ${formatBytes(gpu.vramFreeBytes)} free of ${formatBytes(gpu.vramTotalBytes)}`
    : 'none (node-llama-cpp loaded no CUDA, Vulkan or Metal backend)';
  const lines = [
    `host       ${probe.hostname} (${probe.os.platform} ${probe.os.release})`,
    `cpu        ${cpu.model}, ${cpu.architecture}, ${cores}${cpu.mhz ? `, ${Math.round(cpu.mhz)} MHz` : ''}`,
    `simd       ${cpu.simd.join(' ') || 'none known'}`,
    `memory     ${formatBytes(memory.totalBytes)} total, ${formatBytes(memory.availableBytes)} available`,
    `cgroup     ${cgroup.version}: ${limits.join(', ')}`,
    `usable     ${usable.cores} cores, ${formatBytes(usable.memoryBytes)}`,
    `gpu        ${gpuLine}`,
  ];
  if (bandwidth) {
    lines.push(
      `bandwidth  ${bandwidth.copyGBps.toFixed(1)} GB/s copy with ${bandwidth.threads} threads, ${bandwidth.singleThreadGBps.toFixed(1)} GB/s with one`,
    );
  }
  return lines.join('\n');
}

export const calibrateCommand: AlkiCommand = {
  command: 'calibrate',
  describe: 'Probe this machine: CPU, SIMD features, memory, cgroup limits, GPUs and memory bandwidth',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('probe-only', {
        type: 'boolean',
        default: false,
        describe: 'Only probe the hardware; run no benchmark',
      })
      .option('bandwidth', {
        type: 'boolean',
        default: true,
        describe: 'Measure memory bandwidth with a copy test (--no-bandwidth skips it)',
      })
      .option('gpu', {
        type: 'boolean',
        default: true,
        describe: 'Look for GPUs through node-llama-cpp (--no-gpu skips it)',
      })
      .example(
        '$0 calibrate --probe-only',
        'Print what this machine has: cores, SIMD, memory, limits, GPUs, bandwidth',
      )
      .example('$0 calibrate --probe-only --json', 'The same as JSON'),
  handler: withContext<CalibrateArgs>(async (argv, { out, signal }) => {
    if (!argv.probeOnly) {
      throw new CalibrateError(
        'INVALID_OPTIONS',
        'This version of alki calibrate only probes the hardware.',
        {
          hint: 'Run `alki calibrate --probe-only`.',
        },
      );
    }
    out.info('Probing the hardware');
    const probe = await probeHardware({ bandwidth: argv.bandwidth, gpu: argv.gpu, signal });
    out.result(probe, () => renderProbe(probe));
  }),
};
