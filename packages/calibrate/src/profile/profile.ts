import { listProblems, schemaProblems, schemaValidator, type RuntimeAccelerator } from '@alki/bundler';
import { readFile } from 'node:fs/promises';
import type { Calibration } from '../calibrate.js';
import { CalibrateError } from '../errors.js';
import { writeOutputFile } from '../io/write-output.js';
import type { Constraints, Recommendation, Rejection } from '../recommend/recommend.js';
import type { SpeedEngine, SpeedSample } from '../speed/speed.js';
import type { Estimate } from '../quality/kl-divergence.js';
import { profileSchemaV1 } from './schema.js';

/** What a device has, as a profile records it. */
export interface ProfileHardware {
  cpuModel: string;
  architecture: 'x86_64' | 'aarch64' | 'unknown';
  cores: number;
  logicalCores: number;
  simd: string[];
  memoryBytes: number;
  memoryBandwidthGBps?: number;
  gpu: { backend: string | null; devices: string[]; vramTotalBytes: number };
}

/** One quant's measurements in a profile. */
export interface ProfileMeasurement {
  quant: string;
  sizeBytes: number;
  bitsPerWeight: number;
  reference: boolean;
  speed: {
    engine: SpeedEngine;
    promptTokens: number;
    generatedTokens: number;
    depth: number;
    samples: SpeedSample[];
    loadMs?: number;
    peakRssBytes?: number;
  };
  quality?: {
    engine: 'llama-perplexity' | 'node-llama-cpp';
    tokens: number;
    perplexity: Estimate;
    kld?: Estimate;
    kld99?: number;
    top1Agreement?: Estimate;
  };
  memoryByContext: Array<{ context: number; bytes: number }>;
}

/** A calibration profile (`--save-profile`): the device, the measurements, the choice. */
export interface CalibrationProfile {
  schemaVersion: 1;
  kind: 'alki-calibration-profile';
  created: string;
  alkiVersion: string;
  device: {
    name: string;
    source: 'probe' | 'emulated';
    deviceClass?: string;
    hardware: ProfileHardware;
  };
  model: { name: string; architecture: string; parameterCount: number; contextLength: number };
  constraints: Constraints;
  measurements: ProfileMeasurement[];
  recommendation: Recommendation | null;
  rejected: Rejection[];
}

/** Where the profile's device came from, when it was not this machine's own probe. */
export interface ProfileDevice {
  name: string;
  source: 'probe' | 'emulated';
  deviceClass?: string;
}

/**
 * The profile of a calibration. Pure: the time and version are given.
 *
 * @example
 * const profile = toProfile(calibration, { created: new Date().toISOString(), alkiVersion: '0.1.0' });
 */
export function toProfile(
  calibration: Calibration,
  meta: { created: string; alkiVersion: string; device?: ProfileDevice },
): CalibrationProfile {
  const { probe } = calibration;
  const emulated = calibration.emulation?.device;
  const device =
    meta.device ??
    (emulated
      ? { name: emulated.id, source: 'emulated' as const, deviceClass: emulated.id }
      : { name: probe.hostname, source: 'probe' as const });
  return {
    schemaVersion: 1,
    kind: 'alki-calibration-profile',
    created: meta.created,
    alkiVersion: meta.alkiVersion,
    device: {
      ...device,
      hardware: {
        cpuModel: probe.cpu.model,
        architecture: probe.cpu.architecture,
        cores: probe.usable.cores,
        logicalCores: probe.cpu.logicalCores,
        simd: probe.cpu.simd,
        memoryBytes: probe.usable.memoryBytes,
        ...(probe.bandwidth ? { memoryBandwidthGBps: probe.bandwidth.copyGBps } : {}),
        gpu: {
          backend: probe.gpu.backend,
          devices: probe.gpu.devices,
          vramTotalBytes: probe.gpu.vramTotalBytes,
        },
      },
    },
    model: calibration.model,
    constraints: calibration.constraints,
    measurements: calibration.models.map((m) => ({
      quant: m.quant,
      sizeBytes: m.sizeBytes,
      bitsPerWeight: m.bitsPerWeight,
      reference: m.isBase,
      speed: {
        engine: m.speed.engine,
        promptTokens: m.speed.promptTokens,
        generatedTokens: m.speed.generatedTokens,
        depth: m.speed.depth,
        samples: m.speed.samples,
        ...(m.speed.loadMs !== undefined ? { loadMs: m.speed.loadMs } : {}),
        ...(m.speed.peakRssBytes !== undefined ? { peakRssBytes: m.speed.peakRssBytes } : {}),
      },
      ...(m.quality
        ? {
            quality: m.quality.reference
              ? {
                  engine: m.quality.engine,
                  tokens: m.quality.summary.tokens,
                  perplexity: m.quality.summary.perplexity,
                }
              : {
                  engine: m.quality.engine,
                  tokens: m.quality.summary.tokens,
                  perplexity: m.quality.summary.perplexity,
                  kld: m.quality.summary.kld,
                  kld99: m.quality.summary.kld99,
                  top1Agreement: m.quality.summary.top1Agreement,
                },
          }
        : {}),
      memoryByContext: m.memoryByContext.map(({ context, bytes }) => ({ context, bytes })),
    })),
    recommendation: calibration.result.recommendation ?? null,
    rejected: calibration.result.rejected,
  };
}

/** Checks a parsed profile against the schema; the error lists what is wrong. */
export function parseProfile(value: unknown, file = 'the profile'): CalibrationProfile {
  // Compiled when a profile is first read or written: every `alki calibrate` loads this module, few write a profile.
  const validator = schemaValidator<CalibrationProfile>(profileSchemaV1);
  if (validator(value)) return value;
  const problems = schemaProblems(validator.errors);
  throw new CalibrateError(
    'INVALID_INPUT',
    `${file} is not a version 1 calibration profile: ${listProblems(problems)}.`,
    {
      hint: 'Write profiles with `alki calibrate --save-profile`; docs/calibrate.md describes the format.',
      details: { file, problems },
    },
  );
}

/**
 * Reads and validates a profile file.
 *
 * @example
 * const profile = await readProfile('host.json');
 * console.log(profile.recommendation?.quant);
 */
export async function readProfile(file: string): Promise<CalibrationProfile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new CalibrateError(
      'INVALID_INPUT',
      `The profile ${file} cannot be read: ${(cause as Error).message}.`,
      {
        cause,
        hint: 'Write one with `alki calibrate <model> --save-profile host.json`.',
        details: { file },
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CalibrateError('INVALID_INPUT', `${file} is not JSON: ${(cause as Error).message}.`, {
      cause,
      details: { file },
    });
  }
  return parseProfile(value, file);
}

/**
 * Writes a profile atomically (a temp file beside it, then a rename); an
 * existing file is replaced only with `force`.
 */
export async function writeProfile(file: string, profile: CalibrationProfile, force = false): Promise<void> {
  parseProfile(profile, file);
  await writeOutputFile(file, `${JSON.stringify(profile, null, 2)}\n`, force, '--save-profile');
}

/** The runtime settings a profile sets in a bundle: its recommended quant, context and threads, and its device. */
export interface ProfileSettings {
  quant: string;
  ctx: number;
  threads: number;
  batch: number;
  accelerator: RuntimeAccelerator;
}

/**
 * The accelerator a profile was measured on, as runtime.json records it:
 * the GPU backend node-llama-cpp loaded (`cpu` when it found none), the
 * devices and their memory, and the CPU architecture.
 *
 * @example
 * const { backend } = profileAccelerator(await readProfile('host.json')); // 'cuda', 'vulkan', 'cpu'...
 */
export function profileAccelerator(profile: CalibrationProfile): RuntimeAccelerator {
  const { hardware } = profile.device;
  return {
    backend: hardware.gpu.backend ?? 'cpu',
    devices: hardware.gpu.devices,
    vram_bytes: hardware.gpu.vramTotalBytes,
    cpu_architecture: hardware.architecture,
    device: profile.device.name,
    source: profile.device.source,
  };
}

/** The settings to apply from a profile; an error when it has no recommendation. */
export function profileSettings(profile: CalibrationProfile, file = 'the profile'): ProfileSettings {
  const choice = profile.recommendation;
  if (!choice) {
    const broken = [...new Set(profile.rejected.map((r) => r.constraint))].join(', ');
    throw new CalibrateError(
      'NO_CANDIDATE',
      `${file} has no recommendation: no quant met its constraints (${broken || 'none measured'}).`,
      {
        hint: 'Calibrate again with looser constraints.',
        details: { file },
      },
    );
  }
  return {
    quant: choice.quant,
    ctx: choice.context,
    threads: choice.threads,
    batch: choice.batch,
    accelerator: profileAccelerator(profile),
  };
}
