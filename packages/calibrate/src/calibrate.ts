// The calibration run: probe, models, quality against the reference, speed
// per thread count, memory per context size, and the recommendation. The I/O
// shell around the pure parts (chunks, KL statistics, recommend).
import { DEFAULT_PARALLEL, estimateMemory } from '@alki/bundler';
import { findLlamaTools, type LlamaTools } from '@alki/llama-tools';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findDevice, type DeviceProfile } from './devices/catalogue.js';
import {
  createLimitedScope,
  type LimitedScope,
  type MemoryUsage,
  type ResourceLimits,
} from './emulate/limits.js';
import {
  deviceMachine,
  hostMachine,
  predictSpeed,
  type MachineModel,
  type SpeedPrediction,
} from './emulate/predict.js';
import { CalibrateError } from './errors.js';
import { resolveModels, type CalibrationModel, type ResolveModelsOptions } from './models/resolve-models.js';
import type { CommandWrapper } from './process/run-tool.js';
import { probeHardware, type HardwareProbe, type ProbeOptions, type ProbePhase } from './probe/probe.js';
import type { PerplexitySummary, QualitySummary } from './quality/kl-divergence.js';
import { runLogits } from './quality/llama-perplexity.js';
import { compareLogitsFiles, perplexityOfLogitsFile } from './quality/logits-file.js';
import { BUILT_IN_TEXT, builtInTextFile } from './quality/text.js';
import { recommend, type Constraints, type RecommendResult } from './recommend/recommend.js';
import { runLlamaBenchModels } from './speed/llama-bench.js';
import {
  candidateThreads,
  fastest,
  type SpeedEngine,
  type SpeedMeasurement,
  type SpeedPlan,
} from './speed/speed.js';
import { runWorker } from './worker/run-worker.js';

export type QualityEngine = 'llama-perplexity' | 'node-llama-cpp';

/** Quality of one model: perplexity for the reference, the full comparison for the others. */
export type ModelQuality =
  | {
      reference: true;
      engine: QualityEngine;
      summary: PerplexitySummary;
      loadMs?: number;
      peakRssBytes?: number;
    }
  | {
      reference: false;
      engine: QualityEngine;
      summary: QualitySummary;
      loadMs?: number;
      peakRssBytes?: number;
    };

/** Memory a server needs at one context size for all its slots (bundler's estimate, as the deploy configs size it). */
export interface ContextMemory {
  context: number;
  bytes: number;
  kvCacheBytes: number;
}

/** Everything measured about one model. */
export interface ModelCalibration {
  quant: string;
  file: string;
  sizeBytes: number;
  bitsPerWeight: number;
  parameterCount: number;
  isBase: boolean;
  speed: SpeedMeasurement;
  quality?: ModelQuality;
  memoryByContext: ContextMemory[];
  /**
   * What the bandwidth model predicts for the calibrated machine (this host,
   * or the emulated device), beside what was measured; `generationError` is
   * (predicted - measured) / measured of the best generation speed.
   */
  prediction: SpeedPrediction & { machine: string; generationError: number };
}

/** How a device was emulated. */
export interface Emulation {
  device: DeviceProfile;
  /** The limits the measurements ran under, in this machine's terms. */
  limits: ResourceLimits;
  method: LimitedScope['method'];
  /** The probe of the machine that did the measuring. */
  host: HardwareProbe;
  /** Peak memory charged to the cgroup over the whole run, limit hits and OOM kills. */
  memory: MemoryUsage;
}

/** The text quality was measured on. */
export interface CalibrationText {
  source: 'built-in' | 'file';
  file: string;
  license: string;
  nCtx: number;
  chunks?: number;
}

/**
 * Wall time of one phase of a calibration, in the order they ran. `probe`
 * (the /proc and cgroup files), `gpu` and `bandwidth` make the hardware
 * probe (absent when a probe was given); `models` finds the files and makes
 * the quants or takes them from the cache; `quality` and `speed` measure,
 * per quant (speed of several quants at once has no quant); `recommend`
 * picks; `report` and `apply` (added by the CLI) write the report and
 * profile, and the bundle's runtime.
 */
export interface PhaseTiming {
  phase: ProbePhase | 'models' | 'quality' | 'speed' | 'recommend' | 'report' | 'apply';
  quant?: string;
  ms: number;
}

/** Times phases into a list. */
class PhaseTimer {
  readonly timings: PhaseTiming[] = [];

  add(phase: PhaseTiming['phase'], ms: number, quant?: string): void {
    this.timings.push({ phase, ...(quant !== undefined ? { quant } : {}), ms: Math.round(ms * 10) / 10 });
  }

  async time<T>(phase: PhaseTiming['phase'], work: () => Promise<T> | T, quant?: string): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, performance.now() - started, quant);
    }
  }
}

/** The result of a calibration: what the profile and the report are made of. */
export interface Calibration {
  model: { name: string; architecture: string; parameterCount: number; contextLength: number };
  probe: HardwareProbe;
  engines: { speed: SpeedEngine; quality: QualityEngine | 'none' };
  plan: SpeedPlan;
  text: CalibrationText;
  models: ModelCalibration[];
  constraints: Constraints;
  result: RecommendResult;
  /** Present with --emulate. */
  emulation?: Emulation;
  wallMs: number;
  /** Where the time went. */
  timings: PhaseTiming[];
}

export type EngineChoice = 'auto' | 'llama-cpp' | 'node-llama-cpp';

/** What calibrate reports while it works. */
export interface CalibrationProgress {
  phase: 'probe' | 'quantize' | 'quality' | 'speed';
  message: string;
  /** Share of the whole run done, 0..1. */
  fraction: number;
  /** Seconds left, once enough is done to estimate. */
  etaSeconds?: number;
}

export interface CalibrateOptions {
  /** A bundle directory, or GGUF files. */
  targets: string[];
  /** Quants to make from a single high-precision source. */
  quants?: string[];
  constraints?: Constraints;
  /**
   * `llama-cpp`: llama-bench and llama-perplexity; `node-llama-cpp`: the
   * library for both; `auto` (default): llama-bench when the tools are built,
   * and node-llama-cpp for quality.
   */
  engine?: EngineChoice;
  /**
   * Requests the server will handle at once, each with the whole context
   * (runtime.json `parallel`); memory is sized for all of them. Default:
   * bundler's DEFAULT_PARALLEL.
   */
  parallel?: number;
  /** Skip quality; the recommendation then ignores --max-kl. */
  quality?: boolean;
  /** A text for quality; the built-in one by default. */
  textFile?: string;
  /** Window of the quality measurement; default min(512, the trained context). */
  qualityContext?: number;
  /** Windows of the text to evaluate at most. */
  qualityChunks?: number;
  /** Thread counts to try; by default candidateThreads(usable cores). */
  threads?: number[];
  batches?: number[];
  promptTokens?: number;
  generatedTokens?: number;
  depth?: number;
  repetitions?: number;
  /** A probe already made (or an emulated device's); probed here otherwise, with probeOptions. */
  probe?: HardwareProbe;
  probeOptions?: Pick<ProbeOptions, 'bandwidth' | 'gpu'>;
  /**
   * A catalogue device (or its id) to emulate: every measurement runs in a
   * cgroup with the device's share of this machine's CPU and its memory, the
   * recommendation is for the device's memory and cores, and its speed is
   * also predicted from its bandwidth and compute.
   */
  emulate?: DeviceProfile | string;
  tools?: LlamaTools | null;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: CalibrationProgress) => void;
}

const DEFAULT_QUALITY_CONTEXT = 512;
const DEFAULT_BATCH = 512;
/** Generating one token costs about this many prompt tokens on a CPU (one weight pass each). */
const GENERATION_COST = 10;

/** Context sizes whose memory is reported: powers of two up to the trained length, from 256 or an eighth of it. */
function memoryContexts(trained: number): number[] {
  const top = Math.min(trained > 0 ? trained : 4096, 131072);
  const sizes: number[] = [];
  for (let c = Math.max(1, Math.min(256, Math.floor(top / 8))); c < top; c *= 2) sizes.push(c);
  sizes.push(top);
  return sizes;
}

type Engine = 'llama-cpp' | 'node-llama-cpp';

// auto: llama-bench and llama-perplexity when the tools are built, the
// library otherwise. Quality is read from the log-probability file each
// llama-perplexity run writes (logits-file.ts), not from its log: the log is
// written by a thread that nothing drains at exit (see llama-perplexity.ts),
// and on a busy or CPU-limited machine its last lines, the statistics, were
// lost run after run.
function resolveEngines(choice: EngineChoice, tools: LlamaTools | null): { speed: Engine; quality: Engine } {
  if (choice === 'node-llama-cpp') return { speed: 'node-llama-cpp', quality: 'node-llama-cpp' };
  if (tools) return { speed: 'llama-cpp', quality: 'llama-cpp' };
  if (choice === 'llama-cpp') {
    throw new CalibrateError('UNSUPPORTED_ENVIRONMENT', 'llama-bench and llama-perplexity were not found.', {
      hint: 'Build them with `alki tools build` (about 7 minutes on 2 cores), or use --engine node-llama-cpp.',
    });
  }
  return { speed: 'node-llama-cpp', quality: 'node-llama-cpp' };
}

/** Tracks the share of work done by weight (model bytes times tokens) and estimates the time left. */
class Progress {
  private done = 0;
  private readonly started = performance.now();
  constructor(
    private readonly total: number,
    private readonly emit?: (progress: CalibrationProgress) => void,
  ) {}

  report(phase: CalibrationProgress['phase'], message: string, partial = 0): void {
    if (!this.emit) return;
    const fraction = this.total > 0 ? Math.min(1, (this.done + partial) / this.total) : 0;
    const elapsed = (performance.now() - this.started) / 1000;
    const etaSeconds = fraction > 0.02 ? (elapsed * (1 - fraction)) / fraction : undefined;
    this.emit({ phase, message, fraction, ...(etaSeconds !== undefined ? { etaSeconds } : {}) });
  }

  add(work: number): void {
    this.done += work;
  }
}

/**
 * Calibrates models on this machine (or inside an emulated device's
 * limits): quality of each quant against the highest-precision one, speed
 * for each thread count, memory per context size, and the recommended
 * quant, context, threads and batch under the constraints.
 *
 * @example
 * const calibration = await calibrate({ targets: ['model-f16.gguf'], quants: ['Q4_K_M', 'Q8_0'], constraints: { maxKld: 0.05 } });
 * console.log(calibration.result.recommendation);
 */
export async function calibrate(options: CalibrateOptions): Promise<Calibration> {
  const started = performance.now();
  const timer = new PhaseTimer();
  const { signal } = options;
  options.onProgress?.({ phase: 'probe', message: 'Probing the hardware', fraction: 0 });
  const hostProbe =
    options.probe ??
    (await probeHardware({
      ...options.probeOptions,
      signal,
      onPhase: (phase, ms) => timer.add(phase, ms),
    }));
  const device = typeof options.emulate === 'string' ? findDevice(options.emulate) : options.emulate;
  const probe = device ? emulatedProbe(device, hostProbe) : hostProbe;
  const host = hostMachine(hostProbe);
  const limits = device ? emulationLimits(device, hostProbe, host) : undefined;
  const resolveOptions: ResolveModelsOptions = {
    quants: options.quants,
    cacheDir: options.cacheDir,
    signal,
    onProgress: (message, done, total) =>
      options.onProgress?.({
        phase: 'quantize',
        message,
        fraction: done && total ? (0.1 * done) / total : 0,
      }),
  };
  const resolved = await timer.time('models', () => resolveModels(options.targets, resolveOptions));
  const tools = options.tools === undefined ? (findLlamaTools() ?? null) : options.tools;
  const engine = resolveEngines(options.engine ?? 'auto', tools);
  const slots = options.parallel ?? DEFAULT_PARALLEL;
  const measureQuality = options.quality !== false && resolved.models.length > 0;
  const trained = resolved.base.facts.contextLength;
  const nCtx =
    options.qualityContext ??
    Math.min(DEFAULT_QUALITY_CONTEXT, trained > 0 ? trained : DEFAULT_QUALITY_CONTEXT);
  const plan: SpeedPlan = {
    // Under emulation, never more threads than the CPU share rounds up to (spinning threads on a quota crawl).
    threads:
      options.threads ??
      candidateThreads(
        limits ? Math.min(probe.usable.cores, Math.ceil(limits.cpuCores)) : probe.usable.cores,
      ),
    batches: options.batches ?? [DEFAULT_BATCH],
    promptTokens: options.promptTokens ?? 256,
    generatedTokens: options.generatedTokens ?? 64,
    depth: options.depth ?? 0,
    repetitions: options.repetitions ?? 3,
  };
  const text: CalibrationText = options.textFile
    ? { source: 'file', file: path.resolve(options.textFile), license: 'given by the user', nCtx }
    : { source: 'built-in', file: builtInTextFile(), license: BUILT_IN_TEXT.license, nCtx };
  if (options.qualityChunks !== undefined) text.chunks = options.qualityChunks;

  // Work by model bytes times tokens: quality reads about 2.5 windows' worth
  // per model on a typical text, speed reads its plan.
  const speedTokens =
    plan.threads.length *
    plan.batches.length *
    plan.repetitions *
    (plan.promptTokens + plan.depth * 2 + plan.generatedTokens * GENERATION_COST);
  const qualityTokens = measureQuality ? nCtx * (options.qualityChunks ?? 4) : 0;
  const total = resolved.models.reduce((sum, m) => sum + m.sizeBytes * (speedTokens + qualityTokens), 0);
  const progress = new Progress(total, options.onProgress);

  const scope = limits ? await createLimitedScope(limits) : undefined;
  const wrap = scope?.wrap;
  const target: MachineModel = device ? deviceMachine(device) : host;
  // The machine the measurements ran on: this host, or its share under the limits.
  const measuring: MachineModel = limits
    ? { ...host, cores: limits.cpuCores, computeGflops: (host.computeGflops / host.cores) * limits.cpuCores }
    : host;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'alki-calibrate-'));
  const baseFile = path.join(workDir, 'reference.kld');
  // Quality runs on this machine's cores, outside any emulated limits.
  const threadsForQuality = options.threads ? Math.max(...options.threads) : hostProbe.usable.cores;
  const models: ModelCalibration[] = [];
  try {
    // The reference first: every comparison reads its distributions.
    const qualities: Array<ModelQuality | undefined> = [];
    for (const model of resolved.models) {
      signal?.throwIfAborted();
      const isBase = model === resolved.base;
      const label = `${model.quant}${isBase ? ' (reference)' : ''}`;
      if (!measureQuality) {
        qualities.push(undefined);
        continue;
      }
      const onChunk = (done: number, all: number) =>
        progress.report(
          'quality',
          `Quality of ${label}: window ${done}/${all}`,
          (model.sizeBytes * qualityTokens * done) / all,
        );
      // Quality does not depend on the device, so it never runs under emulated limits.
      qualities.push(
        await timer.time(
          'quality',
          () =>
            measureModelQuality(engine.quality, model, isBase, {
              text,
              baseFile,
              threads: threadsForQuality,
              tools,
              signal,
              onChunk,
            }),
          model.quant,
        ),
      );
      progress.add(model.sizeBytes * qualityTokens);
    }
    const speeds: SpeedMeasurement[] = [];
    if (engine.speed === 'llama-cpp') {
      // One llama-bench over every model, as a person would run it.
      const speedBytes = resolved.models.reduce((sum, m) => sum + m.sizeBytes, 0);
      progress.report('speed', 'Speed of every quant');
      speeds.push(
        ...(await timer.time('speed', () =>
          runLlamaBenchModels({
            binary: tools!.paths['llama-bench'],
            models: resolved.models.map((m) => m.file),
            plan,
            signal,
            wrap,
            onTest: (done, all) =>
              progress.report('speed', `Speed: test ${done}/${all}`, (speedBytes * speedTokens * done) / all),
          }),
        )),
      );
      progress.add(speedBytes * speedTokens);
    } else {
      for (const model of resolved.models) {
        signal?.throwIfAborted();
        const onTest = (done: number, all: number) =>
          progress.report(
            'speed',
            `Speed of ${model.quant}: test ${done}/${all}`,
            (model.sizeBytes * speedTokens * done) / all,
          );
        progress.report('speed', `Speed of ${model.quant}`);
        speeds.push(
          await timer.time(
            'speed',
            () => nodeSpeed(model, plan, text.file, signal, wrap, onTest),
            model.quant,
          ),
        );
        progress.add(model.sizeBytes * speedTokens);
      }
    }
    for (const [index, model] of resolved.models.entries()) {
      const isBase = model === resolved.base;
      const quality = qualities[index];
      const speed = speeds[index];
      // llama-bench reports no load time; the quality run's is the same load.
      if (speed.loadMs === undefined && quality?.loadMs !== undefined) speed.loadMs = quality.loadMs;
      models.push({
        quant: model.quant,
        file: model.file,
        sizeBytes: model.sizeBytes,
        bitsPerWeight: model.bitsPerWeight,
        parameterCount: model.facts.parameterCount,
        isBase,
        speed,
        ...(quality ? { quality } : {}),
        memoryByContext: memoryContexts(trained).map((context) => {
          const estimate = estimateMemory(model.facts, model.sizeBytes, context, slots);
          return { context, bytes: estimate.requestMiB * 1024 * 1024, kvCacheBytes: estimate.kvCacheBytes };
        }),
        prediction: predictionFor(target, model, speed, measuring),
      });
    }
  } catch (error) {
    await scope?.close();
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const emulation: Emulation | undefined =
    scope && device && limits
      ? { device, limits, method: scope.method, host: hostProbe, memory: await scope.memoryUsage() }
      : undefined;
  await scope?.close();

  const constraints = options.constraints ?? {};
  const byQuant = new Map(resolved.models.map((m) => [m.quant, m]));
  const recommendStarted = performance.now();
  const result = recommend({
    candidates: models.map((m) => ({
      quant: m.quant,
      sizeBytes: m.sizeBytes,
      isBase: m.isBase,
      ...(m.quality && !m.quality.reference
        ? { kld: m.quality.summary.kld.value, top1Agreement: m.quality.summary.top1Agreement.value }
        : {}),
      samples: m.speed.samples,
      memoryAt: (context) => {
        const estimate = estimateMemory(byQuant.get(m.quant)!.facts, m.sizeBytes, context, slots);
        return estimate.requestMiB * 1024 * 1024;
      },
    })),
    constraints: measureQuality ? constraints : { ...constraints, maxKld: undefined },
    deviceMemoryBytes: probe.usable.memoryBytes,
    trainedContext: trained,
  });
  timer.add('recommend', performance.now() - recommendStarted);
  return {
    model: {
      name: resolved.name,
      architecture: resolved.base.facts.architecture,
      parameterCount: resolved.base.facts.parameterCount,
      contextLength: trained,
    },
    probe,
    engines: {
      speed: engine.speed === 'llama-cpp' ? 'llama-bench' : 'node-llama-cpp',
      quality: measureQuality
        ? engine.quality === 'llama-cpp'
          ? 'llama-perplexity'
          : 'node-llama-cpp'
        : 'none',
    },
    plan,
    text,
    models,
    constraints,
    result,
    ...(emulation ? { emulation } : {}),
    wallMs: performance.now() - started,
    timings: timer.timings,
  };
}

/** Of all usable memory, what a device leaves a model server after its OS and services. */
const DEVICE_USABLE_MEMORY_SHARE = 0.85;

/** The probe an emulated device would give: its cores, memory, SIMD and bandwidth, from the catalogue. */
function emulatedProbe(device: DeviceProfile, host: HardwareProbe): HardwareProbe {
  const machine = deviceMachine(device);
  return {
    hostname: device.id,
    os: host.os,
    cpu: {
      architecture: device.architecture,
      model: `${device.name}: ${device.cpu}`,
      logicalCores: device.cores,
      physicalCores: device.cores,
      mhz: device.clockGHz * 1000,
      simd: device.simd as HardwareProbe['cpu']['simd'],
    },
    memory: {
      totalBytes: device.memoryBytes,
      availableBytes: device.memoryBytes * DEVICE_USABLE_MEMORY_SHARE,
      swapTotalBytes: 0,
    },
    cgroup: { version: 'none' },
    usable: { cores: device.cores, memoryBytes: Math.floor(device.memoryBytes * DEVICE_USABLE_MEMORY_SHARE) },
    gpu: {
      backend: device.gpu?.backend ?? null,
      devices: device.gpu ? [device.gpu.name] : [],
      vramTotalBytes: device.gpu?.unifiedMemory ? device.memoryBytes : 0,
      vramFreeBytes: 0,
      unifiedBytes: device.gpu?.unifiedMemory ? device.memoryBytes : 0,
    },
    bandwidth: {
      copyGBps: machine.copyBandwidthGBps,
      singleThreadGBps: machine.copyBandwidthGBps,
      threads: device.cores,
      bufferBytes: 0,
      repetitions: 0,
    },
  };
}

/**
 * The device's limits in this machine's terms: its compute as a share of
 * this machine's cores (at most all of them), and its memory (at most what
 * is available here).
 */
export function emulationLimits(
  device: DeviceProfile,
  host: HardwareProbe,
  machine: MachineModel,
): ResourceLimits {
  const perCore = machine.computeGflops / machine.cores;
  const cpuCores = Math.min(host.usable.cores, deviceMachine(device).computeGflops / perCore);
  return {
    cpuCores: Math.max(0.05, Math.round(cpuCores * 100) / 100),
    memoryBytes: Math.min(device.memoryBytes, host.usable.memoryBytes),
  };
}

function predictionFor(
  target: MachineModel,
  model: CalibrationModel,
  speed: SpeedMeasurement,
  measuring: MachineModel,
): ModelCalibration['prediction'] {
  const prompt = fastest(speed.samples, 'prompt');
  const generation = fastest(speed.samples, 'generation');
  const prediction = predictSpeed(
    target,
    { weightsBytes: model.facts.weightsBytes, parameterCount: model.facts.parameterCount },
    prompt
      ? { machine: measuring, promptTokensPerSecond: prompt.tokensPerSecond, threads: prompt.threads }
      : undefined,
  );
  const measured = generation?.tokensPerSecond ?? 0;
  return {
    ...prediction,
    machine: target.name,
    generationError: measured > 0 ? (prediction.generationTokensPerSecond - measured) / measured : 0,
  };
}

interface QualityRun {
  text: CalibrationText;
  baseFile: string;
  threads: number;
  tools: LlamaTools | null;
  signal?: AbortSignal;
  onChunk: (done: number, total: number) => void;
}

async function measureModelQuality(
  engine: 'llama-cpp' | 'node-llama-cpp',
  model: CalibrationModel,
  isBase: boolean,
  run: QualityRun,
): Promise<ModelQuality> {
  if (engine === 'llama-cpp') {
    // Each model writes its own log-probabilities; a quant's are compared with the reference's and removed.
    const file = isBase ? run.baseFile : `${run.baseFile}.${model.quant}`;
    const { facts } = await runLogits({
      binary: run.tools!.paths['llama-perplexity'],
      model: model.file,
      textFile: run.text.file,
      nCtx: run.text.nCtx,
      threads: run.threads,
      chunks: run.text.chunks,
      baseFile: file,
      signal: run.signal,
      onChunk: run.onChunk,
    });
    const measured = {
      engine: 'llama-perplexity' as const,
      loadMs: facts.loadMs,
      peakRssBytes: facts.peakRssBytes,
    };
    if (isBase) return { reference: true, summary: await perplexityOfLogitsFile(file), ...measured };
    try {
      return { reference: false, summary: await compareLogitsFiles(run.baseFile, file), ...measured };
    } finally {
      await rm(file, { force: true });
    }
  }
  const common = { signal: run.signal, onProgress: run.onChunk };
  if (isBase) {
    const message = await runWorker(
      {
        kind: 'quality-base',
        model: model.file,
        textFile: run.text.file,
        nCtx: run.text.nCtx,
        threads: run.threads,
        ...(run.text.chunks !== undefined ? { chunks: run.text.chunks } : {}),
        baseFile: run.baseFile,
      },
      common,
    );
    if (message.type !== 'perplexity') throw new Error(`unexpected worker answer ${message.type}`);
    return { reference: true, engine: 'node-llama-cpp', summary: message.summary, ...message.facts };
  }
  const message = await runWorker(
    { kind: 'quality-compare', model: model.file, threads: run.threads, baseFile: run.baseFile },
    common,
  );
  if (message.type !== 'quality') throw new Error(`unexpected worker answer ${message.type}`);
  return { reference: false, engine: 'node-llama-cpp', summary: message.summary, ...message.facts };
}

async function nodeSpeed(
  model: CalibrationModel,
  plan: SpeedPlan,
  textFile: string,
  signal: AbortSignal | undefined,
  wrap: CommandWrapper | undefined,
  onTest: (done: number, total: number) => void,
): Promise<SpeedMeasurement> {
  const message = await runWorker(
    { kind: 'speed', model: model.file, plan, textFile },
    { signal, wrap, onProgress: onTest },
  );
  if (message.type !== 'speed') throw new Error(`unexpected worker answer ${message.type}`);
  return message.result;
}
