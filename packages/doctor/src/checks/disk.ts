import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

const GiB = 1024 ** 3;
// Below this nothing fits: a small quantized model is about 0.5 GiB, and the
// llama.cpp build needs about 1 GiB. Below the second, a 7B model does not.
const FAIL_BELOW = 1 * GiB;
const WARN_BELOW = 10 * GiB;

/** A directory a command writes to, and what it holds. */
export interface DiskTarget {
  what: string;
  dir: string;
  neededBy: string[];
}

function gib(bytes: number): string {
  return `${(bytes / GiB).toFixed(1)} GiB`;
}

/** Free space where downloads, builds and bundles go. */
export async function checkDisk(probes: DoctorProbes, targets: DiskTarget[]): Promise<CheckResult[]> {
  return Promise.all(
    targets.map(async ({ what, dir, neededBy }): Promise<CheckResult> => {
      const base = { id: `disk.${what.replace(/\W+/g, '-')}`, title: `disk: ${what}`, neededBy };
      const free = await probes.freeBytes(dir);
      if (!free) return { ...base, status: 'warn', detail: `cannot tell the free space of ${dir}` };
      const where = free.checked === dir ? dir : `${dir} (on the file system of ${free.checked})`;
      if (free.bytes < FAIL_BELOW) {
        return {
          ...base,
          status: 'fail',
          detail: `${gib(free.bytes)} free for ${where}`,
          fix: `free space on that file system, or point it elsewhere (${what === 'output' ? '--out DIR' : what === 'Hugging Face cache' ? 'HF_HOME=DIR' : 'XDG_CACHE_HOME=DIR'})`,
        };
      }
      return free.bytes < WARN_BELOW
        ? {
            ...base,
            status: 'warn',
            detail: `${gib(free.bytes)} free for ${where}: enough for small models only`,
          }
        : { ...base, status: 'ok', detail: `${gib(free.bytes)} free for ${where}` };
    }),
  );
}
