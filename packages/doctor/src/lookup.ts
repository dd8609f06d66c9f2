import path from 'node:path';
import type { DoctorProbes } from './probes.js';

/** The first executable `name` on the probes' PATH, or undefined. */
export async function which(probes: DoctorProbes, name: string): Promise<string | undefined> {
  for (const dir of (probes.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (await probes.isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** A system path (`/usr/libexec/...`) under the probes' root. */
export function rooted(probes: DoctorProbes, systemPath: string): string {
  return path.join(probes.root, systemPath);
}
