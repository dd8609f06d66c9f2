import { contextArgs } from '@alki/bundler';
import type { ServerOverrides } from '../inventory/fleet-spec.js';
import type { GroupProfile } from './types.js';

const MIB = 1024 * 1024;
// The model server is the reason an edge device exists, but the OS, k3s
// (about 500 MiB on a Raspberry Pi) and the kubelet's eviction threshold
// need the rest: the server may use 85% of the device's memory.
const SERVER_MEMORY_SHARE = 0.85;
// Headroom over a measured footprint for prompt-processing peaks, as the
// bundler's resources.ts gives its limits.
const MEASURED_HEADROOM = 1.25;

/** What a group's server runs with, and what it may use. */
export interface ServerSettings {
  /** llama-server flags appended after runtime.json's (later flags win in llama.cpp's argument parser). */
  args: string[];
  /** ALKI_QUANT: which of the bundle's models to serve; the bundle's default when absent. */
  quant?: string;
  threads: number;
  memoryRequestMiB: number;
  memoryLimitMiB: number;
  /** Kubernetes' `kubernetes.io/arch` value, when the profile knows it. */
  kubernetesArch?: 'amd64' | 'arm64';
}

/**
 * The llama-server settings and resources of a group: the fleet file's
 * overrides, else the profile's recommendation, else what the hardware
 * allows (threads = cores; context and quant left to the bundle). Pure.
 *
 * @example
 * serverSettings({ source: 'device class rpi5', architecture: 'aarch64', cores: 4, memoryBytes: 8 * 2 ** 30 }, {}, 8080);
 * // { args: ['--host', '0.0.0.0', '--port', '8080', '--metrics', '--threads', '4'], threads: 4, ... }
 */
export function serverSettings(
  profile: GroupProfile,
  overrides: ServerOverrides,
  port: number,
): ServerSettings {
  const recommended = profile.recommended;
  const threads = overrides.threads ?? recommended?.threads ?? profile.cores;
  const ctx = overrides.ctx ?? recommended?.ctx;
  const batch = overrides.batch ?? recommended?.batch;
  const quant = overrides.quant ?? recommended?.quant;
  // The runtime listens on every interface inside its pod, on the port the probes use, with /metrics on.
  const args = ['--host', '0.0.0.0', '--port', String(port), '--metrics', '--threads', String(threads)];
  // The bundler's own context flags: each of the slots gets the whole ctx, as in every deploy config.
  if (ctx !== undefined) args.push(...contextArgs({ ctx, parallel: overrides.parallel }));
  if (batch !== undefined) args.push('--batch-size', String(batch));
  const limitMiB = Math.floor((profile.memoryBytes * SERVER_MEMORY_SHARE) / MIB);
  // A measurement only counts when it is for what the group will run.
  const measured =
    recommended?.memoryBytes !== undefined &&
    (overrides.quant === undefined || overrides.quant === recommended.quant) &&
    (overrides.ctx === undefined || overrides.ctx === recommended.ctx)
      ? Math.ceil((recommended.memoryBytes * MEASURED_HEADROOM) / MIB)
      : undefined;
  return {
    args,
    ...(quant !== undefined ? { quant } : {}),
    threads,
    memoryRequestMiB: Math.min(measured ?? limitMiB, limitMiB),
    memoryLimitMiB: limitMiB,
    ...(profile.architecture === 'x86_64'
      ? { kubernetesArch: 'amd64' as const }
      : profile.architecture === 'aarch64'
        ? { kubernetesArch: 'arm64' as const }
        : {}),
  };
}
