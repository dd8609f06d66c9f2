import path from 'node:path';
import { hubCacheDir } from '@alki/hub';
import { llamaToolsCacheDir } from '@alki/llama-tools';
import { checkContainers } from './checks/containers.js';
import { checkDisk } from './checks/disk.js';
import { checkHub } from './checks/hub.js';
import { checkLlamaBinding } from './checks/llama-binding.js';
import { checkLlamaTools } from './checks/llama-tools.js';
import { checkNode } from './checks/node.js';
import { checkOciTools } from './checks/oci-tools.js';
import { checkRegistryCredentials } from './checks/registry.js';
import { systemProbes, type DoctorProbes } from './probes.js';
import type { CheckResult, DoctorReport } from './types.js';

export interface DoctorOptions {
  /**
   * Only what these alki commands need can fail the report (`image` covers
   * `image test` and `image base`); anything else missing is a warning.
   * Default: every command.
   */
  commands?: string[];
  /** Where bundles go (`--out`), for the free-space check. Default `./dist`. */
  outputDir?: string;
}

function needed(check: CheckResult, commands: string[] | undefined): boolean {
  if (check.neededBy.includes('*')) return true;
  if (!commands) return check.neededBy.length > 0;
  return check.neededBy.some((user) => commands.some((c) => user === c || user.startsWith(`${c} `)));
}

/**
 * Runs every check against the machine the probes describe: Node,
 * node-llama-cpp's binding and the CPU features it uses, the native llama.cpp
 * tools, a container engine with its init and runtime, skopeo and umoci, free
 * disk, the Hugging Face cache and token source, and where registry
 * credentials come from. A missing piece fails
 * the report only when a chosen command needs it.
 *
 * @example
 * const report = await runDoctor(systemProbes(), { commands: ['image'] });
 * for (const check of report.checks) console.log(check.status, check.title, check.fix ?? '');
 */
export async function runDoctor(
  probes: DoctorProbes = systemProbes(),
  options: DoctorOptions = {},
): Promise<DoctorReport> {
  const cacheTag = probes.llamaCppTag() ?? 'unknown';
  const groups = await Promise.all([
    Promise.resolve([checkNode(probes)]),
    checkLlamaBinding(probes).then((check) => [check]),
    checkLlamaTools(probes).then((check) => [check]),
    checkContainers(probes),
    checkOciTools(probes),
    checkDisk(probes, [
      {
        what: 'output',
        dir: path.resolve(options.outputDir ?? 'dist'),
        neededBy: ['pack', 'convert', 'quantize', 'pull'],
      },
      { what: 'Hugging Face cache', dir: hubCacheDir(probes.env), neededBy: ['pack', 'convert'] },
      { what: 'llama.cpp build', dir: llamaToolsCacheDir(cacheTag, probes.env), neededBy: ['tools build'] },
    ]),
    checkHub(probes),
    checkRegistryCredentials(probes).then((check) => [check]),
  ]);
  const checks = groups
    .flat()
    .map((check) =>
      check.status === 'fail' && !needed(check, options.commands)
        ? { ...check, status: 'warn' as const }
        : check,
    );
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}
