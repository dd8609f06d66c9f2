import { spawnSync } from 'node:child_process';
import { ImageBuilderError } from '../errors.js';

/** Runs a program to completion and returns its exit status and output; injected so tests and callers can swap it. */
export type RunProgram = (
  command: string,
  args: string[],
) => { status: number | null; stdout: string; stderr: string; error?: Error };

/** A RunProgram that runs commands with `env` (default: this process's). */
export function programRunner(env: NodeJS.ProcessEnv = process.env): RunProgram {
  return (command, args) => {
    const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, env });
    return {
      status: result.status,
      stdout: result.stdout ?? '',
      stderr: result.stderr ?? '',
      error: result.error,
    };
  };
}

export const runProgram: RunProgram = programRunner();

/**
 * The absolute paths of the shared libraries and the dynamic loader that
 * `ldd` reports for a binary. The vDSO (no file) is skipped; a missing
 * library is an error, since the image would not start.
 */
export function parseLddOutput(text: string): string[] {
  const files = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.includes('statically linked')) continue;
    if (line.includes('=> not found')) {
      throw new ImageBuilderError(
        'TOOL_FAILED',
        `A library the binary needs is missing on this machine: ${line.split(' ')[0]}.`,
        { details: { line } },
      );
    }
    const arrow = line.match(/=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)$/);
    const direct = line.match(/^(\/\S+)\s+\(0x[0-9a-f]+\)$/);
    const file = arrow?.[1] ?? direct?.[1];
    if (file) files.add(file);
  }
  return [...files].sort();
}

/** Lists the shared libraries a binary links, with `ldd`. */
export function sharedLibrariesOf(binary: string, run: RunProgram = runProgram): string[] {
  const result = run('ldd', [binary]);
  if (result.error || (result.status !== 0 && !result.stdout.includes('not a dynamic executable'))) {
    throw new ImageBuilderError(
      'TOOL_FAILED',
      `ldd could not list the libraries of ${binary}: ${result.error?.message ?? result.stderr.trim()}`,
      {
        hint: 'Install ldd (Debian: libc-bin), which every glibc system has.',
        details: { binary },
      },
    );
  }
  return parseLddOutput(result.stdout);
}
