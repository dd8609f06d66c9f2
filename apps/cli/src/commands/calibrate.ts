import { ALKI_VERSION, updateBundleRuntime } from '@alki/bundler';
import {
  calibrate,
  CalibrateError,
  deviceCatalogue,
  parseByteSize,
  probeHardware,
  profileAccelerator,
  toProfile,
  writeProfile,
  writeReport,
  type Calibration,
  type Constraints,
  type EngineChoice,
  type HardwareProbe,
  type ModelCalibration,
} from '@alki/calibrate';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { formatBytes } from '../format.js';
import { CliError } from '../errors.js';
import { refuseSpecialFile } from '../flags.js';

interface CalibrateArgs extends GlobalOptions {
  targets: string[];
  probeOnly: boolean;
  bandwidth: boolean;
  gpu: boolean;
  quants?: string;
  engine: EngineChoice;
  maxMemory?: string;
  minTokensPerSecond?: number;
  context?: number;
  maxKl?: number;
  quality: boolean;
  text?: string;
  qualityContext?: number;
  chunks?: number;
  threads?: string;
  batch?: string;
  promptTokens: number;
  genTokens: number;
  depth: number;
  repetitions: number;
  saveProfile?: string;
  report?: string;
  apply?: string;
  emulate?: string;
  parallel?: number;
  listDevices: boolean;
  force: boolean;
}

// gpuProbed: false when --no-gpu skipped the GPU probe (the probe then holds no GPU).
function renderProbe(probe: HardwareProbe, gpuProbed: boolean): string {
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
  const gpuLine = !gpuProbed
    ? 'not looked for (--no-gpu)'
    : gpu.backend
      ? `${gpu.backend}: ${gpu.devices.join(', ') || 'unnamed device'}, ${formatBytes(gpu.vramFreeBytes)} free of ${formatBytes(gpu.vramTotalBytes)}`
      : 'none (node-llama-cpp has no CUDA, Vulkan or Metal backend it can load here)';
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

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

function modelRow(model: ModelCalibration): string[] {
  const generation = model.speed.samples
    .filter((s) => s.kind === 'generation')
    .sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
  const prompt = model.speed.samples
    .filter((s) => s.kind === 'prompt')
    .sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
  const quality = model.quality;
  const compared = quality && !quality.reference ? quality.summary : undefined;
  return [
    model.quant,
    formatBytes(model.sizeBytes),
    model.bitsPerWeight.toFixed(2),
    generation ? `${generation.tokensPerSecond.toFixed(1)} (${generation.threads}t)` : '-',
    prompt ? prompt.tokensPerSecond.toFixed(1) : '-',
    fixed(model.speed.loadMs, 0),
    model.speed.peakRssBytes !== undefined ? formatBytes(model.speed.peakRssBytes) : '-',
    quality?.reference ? 'reference' : fixed(compared?.kld.value, 4),
    quality?.reference ? '' : compared ? `${(compared.top1Agreement.value * 100).toFixed(1)}%` : '-',
    quality ? quality.summary.perplexity.value.toFixed(2) : '-',
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function percent(value: number): string {
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(0)}%`;
}

// Measured beside predicted: this machine's own figures validate the
// bandwidth model (its error is printed); an emulated device's measurements
// ran under its limits here, and its prediction uses its own bandwidth.
function renderPredictions(calibration: Calibration): string[] {
  const { emulation } = calibration;
  const rows = [
    [
      'quant',
      emulation ? 'gen tok/s under limits' : 'gen tok/s measured',
      `gen tok/s predicted${emulation ? ` on ${emulation.device.id}` : ''}`,
      'bound',
      emulation ? `prompt tok/s predicted on ${emulation.device.id}` : 'error',
    ],
  ];
  for (const model of calibration.models) {
    const measured = Math.max(
      0,
      ...model.speed.samples.filter((s) => s.kind === 'generation').map((s) => s.tokensPerSecond),
    );
    rows.push([
      model.quant,
      measured.toFixed(1),
      model.prediction.generationTokensPerSecond.toFixed(1),
      model.prediction.bound,
      emulation
        ? fixed(model.prediction.promptTokensPerSecond, 1)
        : percent(model.prediction.generationError),
    ]);
  }
  const lines = ['', table(rows)];
  if (!emulation) {
    const errors = calibration.models.map((m) => Math.abs(m.prediction.generationError));
    lines.push(
      `predictor error on this machine: mean ${((100 * errors.reduce((a, b) => a + b, 0)) / errors.length).toFixed(0)}% of measured generation speed (bandwidth ${calibration.probe.bandwidth?.copyGBps.toFixed(1) ?? '?'} GB/s)`,
    );
  }
  return lines;
}

function renderCalibration(calibration: Calibration): string {
  const { probe, engines, result } = calibration;
  const header = [
    'quant',
    'size',
    'bits/w',
    'gen tok/s',
    'prompt tok/s',
    'load ms',
    'peak RSS',
    'KL div',
    'top-1',
    'PPL',
  ];
  const emulation = calibration.emulation;
  const lines = [
    `${calibration.model.name} on ${probe.hostname} (${probe.cpu.model}, ${probe.usable.cores} cores, ${formatBytes(probe.usable.memoryBytes)} usable)`,
    ...(emulation
      ? [
          `emulated on ${emulation.host.hostname} in a ${emulation.method} cgroup: ${emulation.limits.cpuCores} of its cores, ${formatBytes(emulation.limits.memoryBytes)} of memory` +
            (emulation.memory.peakBytes !== undefined
              ? `; peak ${formatBytes(emulation.memory.peakBytes)} charged`
              : ''),
        ]
      : []),
    `speed by ${engines.speed}, quality by ${engines.quality}${calibration.text.source === 'file' ? ` on ${calibration.text.file}` : ' on the built-in text'}`,
    '',
    table([header, ...calibration.models.map(modelRow)]),
    ...renderPredictions(calibration),
    '',
  ];
  const choice = result.recommendation;
  if (choice) {
    lines.push(
      `recommended: ${choice.quant}, context ${choice.context}, ${choice.threads} thread${choice.threads === 1 ? '' : 's'}, batch ${choice.batch}`,
    );
    for (const reason of choice.reasons) lines.push(`  ${reason}`);
  } else {
    lines.push('recommended: nothing meets every constraint');
  }
  if (result.rejected.length) {
    lines.push('rejected:');
    for (const rejection of result.rejected)
      lines.push(`  ${rejection.option} (${rejection.constraint}): ${rejection.reason}`);
  }
  return lines.join('\n');
}

function numberList(text: string | undefined, flag: string): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
    throw new CliError(
      'USAGE',
      `${flag} takes positive whole numbers separated by commas, not ${JSON.stringify(text)}.`,
      { details: { flag } },
    );
  }
  return values;
}

function positive(value: number | undefined, flag: string, whole = false): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0 || (whole && (!Number.isSafeInteger(value) || value < 1))) {
    throw new CliError(
      'USAGE',
      `${flag} must be a ${whole ? 'positive whole number' : 'non-negative number'}.`,
      {
        details: { flag },
      },
    );
  }
  return value;
}

function constraintsOf(argv: CalibrateArgs): Constraints {
  return {
    ...(argv.maxMemory !== undefined
      ? { maxMemoryBytes: parseByteSize(argv.maxMemory, '--max-memory') }
      : {}),
    ...(argv.minTokensPerSecond !== undefined
      ? { minTokensPerSecond: positive(argv.minTokensPerSecond, '--min-tokens-per-second') }
      : {}),
    ...(argv.context !== undefined ? { context: positive(argv.context, '--context', true) } : {}),
    ...(argv.maxKl !== undefined ? { maxKld: positive(argv.maxKl, '--max-kl') } : {}),
  };
}

export const calibrateCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('targets', {
        type: 'string',
        array: true,
        default: [],
        describe: 'A bundle directory, or .gguf files (one high-precision file with --quants)',
      })
      .option('probe-only', {
        type: 'boolean',
        default: false,
        describe: 'Only probe the hardware; run no benchmark',
      })
      .option('quants', {
        type: 'string',
        describe: 'Quants to make from the one source GGUF and compare, comma-separated: Q4_K_M,Q5_K_M,Q8_0',
      })
      .option('engine', {
        choices: ['auto', 'llama-cpp', 'node-llama-cpp'] as const,
        default: 'auto' as const,
        describe:
          'llama-cpp: llama-bench and llama-perplexity; node-llama-cpp: the library; auto: the tools when built',
      })
      .option('max-memory', { type: 'string', describe: 'Memory the server may use: 2GiB, 1500MiB' })
      .option('min-tokens-per-second', { type: 'number', describe: 'Generation speed the device must reach' })
      .option('context', {
        type: 'number',
        describe: 'Context the application needs, in tokens (default: the largest that fits)',
      })
      .option('max-kl', {
        type: 'number',
        describe: 'Largest mean KL divergence from the reference accepted, in nats',
      })
      .option('quality', {
        type: 'boolean',
        default: true,
        describe: 'Measure quality (--no-quality: speed only)',
      })
      .option('text', {
        type: 'string',
        describe: 'Text for quality and perplexity (default: the built-in text)',
      })
      .option('quality-context', {
        type: 'number',
        describe: 'Window of the quality measurement (default: min(512, trained))',
      })
      .option('chunks', {
        type: 'number',
        describe: 'Windows of the text to evaluate at most (default: all)',
      })
      .option('threads', {
        type: 'string',
        describe: 'Thread counts to try, comma-separated (default: 1, powers of two, cores-1, cores)',
      })
      .option('batch', { type: 'string', describe: 'Batch sizes to try, comma-separated (default: 512)' })
      .option('prompt-tokens', { type: 'number', default: 256, describe: 'Prompt tokens per speed test' })
      .option('gen-tokens', { type: 'number', default: 64, describe: 'Tokens generated per speed test' })
      .option('depth', {
        type: 'number',
        default: 0,
        describe: 'Context already filled when speed is measured',
      })
      .option('repetitions', { type: 'number', default: 3, describe: 'Repetitions of each speed test' })
      .option('save-profile', {
        type: 'string',
        describe: 'Write the profile (device, measurements, choice) to this JSON file',
      })
      .option('apply', {
        type: 'string',
        describe: "Set this bundle's runtime.json and deploy configs from the recommendation",
      })
      .option('emulate', {
        type: 'string',
        describe:
          'A catalogue device (rpi5, rpi4, jetson-orin-nano, intel-n100, ...): measure under its limits here and predict its speed',
      })
      .option('report', {
        type: 'string',
        describe: 'Write a self-contained HTML report (charts, recommendation) to this file',
      })
      .option('parallel', {
        type: 'number',
        describe:
          'Requests the server handles at once, each with the whole context; memory is sized for all (default 4, as pack)',
      })
      .option('list-devices', {
        type: 'boolean',
        default: false,
        describe: 'List the devices --emulate knows',
      })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Replace an existing --save-profile or --report file',
      })
      .option('bandwidth', {
        type: 'boolean',
        default: true,
        describe: 'Measure memory bandwidth (--no-bandwidth skips it)',
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
      .example(
        '$0 calibrate model-f16.gguf --quants Q4_K_M,Q8_0 --max-kl 0.05',
        'Make two quants, measure them against the F16 reference, and recommend one',
      )
      .example(
        '$0 calibrate model-f16.gguf --quants Q4_K_M,Q8_0 --emulate rpi5',
        "Measure under a Raspberry Pi 5's share of this CPU and its memory, beside a prediction from its bandwidth",
      )
      .example(
        '$0 calibrate ./dist/qwen3 --max-memory 2GiB --min-tokens-per-second 5 --save-profile host.json --apply ./dist/qwen3',
        "Calibrate a bundle's models under constraints, save the profile, and set the bundle's runtime from it",
      ),
  handler: withContext<CalibrateArgs>(async (argv, { out, signal }) => {
    if (argv.listDevices) {
      const devices = deviceCatalogue();
      out.result(devices, () =>
        table([
          ['id', 'device', 'cores', 'memory', 'bandwidth', 'simd'],
          ...devices.map((d) => [
            d.id,
            d.name,
            `${d.cores} x ${d.clockGHz} GHz`,
            formatBytes(d.memoryBytes),
            `${d.memoryBandwidthGBps} GB/s`,
            d.simd.join(' '),
          ]),
        ]),
      );
      return;
    }
    if (argv.probeOnly) {
      out.info('Probing the hardware');
      const probe = await probeHardware({ bandwidth: argv.bandwidth, gpu: argv.gpu, signal });
      out.result(probe, () => renderProbe(probe, argv.gpu));
      return;
    }
    const constraints = constraintsOf(argv);
    await refuseSpecialFile(argv.text, '--text');
    const bar = out.progress('calibrate', 1000, 'share');
    let phase = '';
    const calibration = await calibrate({
      targets: argv.targets,
      quants: argv.quants
        ?.split(',')
        .map((q) => q.trim())
        .filter(Boolean),
      constraints,
      engine: argv.engine,
      quality: argv.quality,
      textFile: argv.text,
      qualityContext: positive(argv.qualityContext, '--quality-context', true),
      qualityChunks: positive(argv.chunks, '--chunks', true),
      threads: numberList(argv.threads, '--threads'),
      batches: numberList(argv.batch, '--batch'),
      promptTokens: positive(argv.promptTokens, '--prompt-tokens', true),
      generatedTokens: positive(argv.genTokens, '--gen-tokens', true),
      depth: argv.depth,
      repetitions: positive(argv.repetitions, '--repetitions', true),
      probeOptions: { bandwidth: argv.bandwidth, gpu: argv.gpu },
      ...(argv.emulate ? { emulate: argv.emulate } : {}),
      parallel: positive(argv.parallel, '--parallel', true),
      signal,
      onProgress: (event) => {
        if (event.phase !== phase) {
          phase = event.phase;
          out.debug(event.message);
        }
        bar.update(Math.round(event.fraction * 1000));
        bar.step(event.message);
      },
    });
    bar.done();
    const reportStarted = performance.now();
    const created = new Date().toISOString();
    const profile = toProfile(calibration, { created, alkiVersion: ALKI_VERSION });
    if (argv.report) {
      await writeReport(argv.report, calibration, argv.force);
      out.info(`Wrote the report to ${argv.report}`);
    }
    if (argv.saveProfile) {
      await writeProfile(argv.saveProfile, profile, argv.force);
      out.info(`Saved the profile to ${argv.saveProfile}`);
    }
    const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;
    calibration.timings.push({ phase: 'report', ms: elapsed(reportStarted) });
    if (!calibration.result.recommendation) {
      out.result(calibration, () => renderCalibration(calibration));
      throw new CalibrateError(
        'NO_CANDIDATE',
        'No quant meets every constraint; the rejected list says which each broke.',
        {
          hint: 'Loosen --max-memory, --min-tokens-per-second, --context or --max-kl.',
        },
      );
    }
    let applied: Awaited<ReturnType<typeof updateBundleRuntime>> | undefined;
    if (argv.apply) {
      const applyStarted = performance.now();
      const choice = calibration.result.recommendation;
      applied = await updateBundleRuntime(argv.apply, {
        quant: choice.quant,
        ctx: choice.context,
        threads: choice.threads,
        accelerator: profileAccelerator(profile),
      });
      out.info(
        applied.changed.length
          ? `Applied to ${argv.apply}: ${choice.quant}, context ${choice.context}, ${choice.threads} thread${choice.threads === 1 ? '' : 's'} (${applied.changed.join(', ')})`
          : `${argv.apply} already runs ${choice.quant}, context ${choice.context}, ${choice.threads} thread${choice.threads === 1 ? '' : 's'}`,
      );
      calibration.timings.push({ phase: 'apply', ms: elapsed(applyStarted) });
    }
    out.result(applied ? { ...calibration, applied } : calibration, () => renderCalibration(calibration));
  }),
};
