import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
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

/** A file an image needs: where it is on this machine, and where it goes in the image. */
export interface ImageFile {
  hostPath: string;
  imagePath: string;
}

/** The NEEDED entries of an ELF file's dynamic section, and its program interpreter, read by `readelf`. */
export function parseReadelf(dynamic: string, headers: string): { needed: string[]; interpreter?: string } {
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const interpreter = /\[Requesting program interpreter: (\/[^\]]+)\]/.exec(headers)?.[1];
  return { needed, ...(interpreter ? { interpreter } : {}) };
}

/**
 * The shared libraries and loader a binary for another architecture needs,
 * found in that architecture's sysroot (Debian's cross toolchains install
 * /usr/<triplet>/lib) by following each library's own NEEDED entries, since
 * `ldd` cannot run a foreign loader. Libraries go to /lib/<triplet> in the
 * image, the loader to the path the binary names.
 */
export function crossSharedLibrariesOf(
  binary: string,
  sysroot: string,
  triplet: string,
  run: RunProgram = runProgram,
): ImageFile[] {
  const read = (file: string) => {
    const dynamic = run('readelf', ['-d', '-W', file]);
    const headers = run('readelf', ['-l', '-W', file]);
    if (dynamic.error || headers.error || dynamic.status !== 0 || headers.status !== 0)
      throw new ImageBuilderError(
        'TOOL_FAILED',
        `readelf could not read ${file}: ${dynamic.error?.message ?? (dynamic.stderr.trim() || headers.stderr.trim())}`,
        { hint: 'Install binutils (Debian: apt-get install binutils).', details: { file } },
      );
    return parseReadelf(dynamic.stdout, headers.stdout);
  };
  const searchDirs = ['lib', 'lib64', 'usr/lib'].map((dir) => path.join(sysroot, dir));
  const files = new Map<string, ImageFile>();
  const pending = [binary];
  let loaderName: string | undefined;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const { needed, interpreter } = read(file);
    if (interpreter && file === binary) {
      loaderName = path.posix.basename(interpreter);
      const hostPath = path.join(sysroot, 'lib', path.posix.basename(interpreter));
      if (!fs.existsSync(hostPath))
        throw new ImageBuilderError('TOOL_FAILED', `The loader ${interpreter} is not in ${sysroot}/lib.`, {
          details: { sysroot, interpreter },
        });
      files.set(interpreter, { hostPath, imagePath: interpreter });
    }
    for (const name of needed) {
      const imagePath = `/lib/${triplet}/${name}`;
      // libc names the loader, which is in the image already, where the binary asks for it.
      if (files.has(imagePath) || name === loaderName) continue;
      const hostPath = searchDirs
        .map((dir) => path.join(dir, name))
        .find((candidate) => fs.existsSync(candidate));
      if (!hostPath)
        throw new ImageBuilderError(
          'TOOL_FAILED',
          `A library the binary needs is missing from ${sysroot}: ${name}.`,
          { details: { sysroot, library: name } },
        );
      files.set(imagePath, { hostPath, imagePath });
      pending.push(hostPath);
    }
  }
  return [...files.values()].sort((a, b) => a.imagePath.localeCompare(b.imagePath));
}
