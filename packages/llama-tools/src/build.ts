import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LlamaToolsError } from './errors.js';
import { findLlamaTools } from './find.js';
import { llamaToolsCacheDir, locateLlamaCppSource, type LlamaCppSource } from './source.js';
import { LLAMA_TOOL_NAMES, type LlamaTools } from './tools.js';

export type Spawn = (
  command: string,
  args: string[],
  options: SpawnOptions,
) => import('node:child_process').ChildProcess;

export interface BuildLlamaToolsOptions {
  source?: LlamaCppSource;
  /** Defaults to `llamaToolsCacheDir(source.tag)`. */
  cacheDir?: string;
  /** Rebuild even when the cache holds a complete build. */
  force?: boolean;
  /** Parallel compile jobs; defaults to the number of CPUs. */
  jobs?: number;
  /** Called with each line cmake prints, and a rough percentage when cmake reports one. */
  onProgress?: (event: { percent?: number; line: string }) => void;
  signal?: AbortSignal;
  spawn?: Spawn;
}

// Portable CPU flags: GGML_NATIVE=ON would tie the binaries to the build
// machine's CPU, and these binaries also go into container images
// (`alki image base`). On x86-64 we target x86-64-v3 (AVX2, FMA, F16C).
export function cmakeConfigureArgs(srcDir: string, buildDir: string, arch: string): string[] {
  const cpu = arch === 'x64' ? ['-DGGML_AVX=ON', '-DGGML_AVX2=ON', '-DGGML_FMA=ON', '-DGGML_F16C=ON'] : [];
  return [
    '-S',
    srcDir,
    '-B',
    buildDir,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DGGML_NATIVE=OFF',
    ...cpu,
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DBUILD_SHARED_LIBS=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
  ];
}

/**
 * Clones the bundled llama.cpp source into `srcDir` unless it is there:
 * into a temporary name, renamed when complete, so an interrupted clone
 * never looks like a source tree.
 */
export async function ensureSource(
  srcDir: string,
  source: LlamaCppSource,
  options: { spawn: Spawn; signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<void> {
  if (fs.existsSync(path.join(srcDir, 'CMakeLists.txt'))) return;
  const partial = `${srcDir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  try {
    await run('git', ['clone', '--quiet', source.bundlePath, partial], options);
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.renameSync(partial, srcDir);
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
}

/** Turns cmake's output lines into progress events, with the percentage cmake prints. */
export function progressLines(onProgress: BuildLlamaToolsOptions['onProgress']): (line: string) => void {
  return (line) => {
    const match = /^\[\s*(\d+)%\]/.exec(line);
    onProgress?.({ line, percent: match ? Number(match[1]) : undefined });
  };
}

/** Runs a build step, with its output's last lines in the error when it fails. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; spawn: Spawn; signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = options.spawn(command, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        options.onLine?.(line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError')
        reject(
          new LlamaToolsError('BUILD_INTERRUPTED', 'The llama.cpp build was interrupted.', { cause: error }),
        );
      else if (error.code === 'ENOENT')
        reject(
          new LlamaToolsError(
            'BUILD_TOOL_MISSING',
            `\`${command}\` is not installed; it is needed to build the llama.cpp tools.`,
            {
              cause: error,
              hint: 'Install cmake, git and a C++ compiler (Debian: apt-get install cmake git g++).',
            },
          ),
        );
      else reject(error);
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else if (!options.signal?.aborted)
        reject(
          new LlamaToolsError(
            'BUILD_FAILED',
            `\`${command} ${args.join(' ')}\` failed with exit code ${code}.\n${tail.join('\n')}`,
            { details: { command, args, exitCode: code } },
          ),
        );
    });
  });
}

/**
 * Builds the native tools (LLAMA_TOOL_NAMES: llama-quantize, llama-server and the rest) from
 * the llama.cpp source bundled in node-llama-cpp, into a versioned cache
 * outside the repository, and returns their paths. A complete cached build is
 * reused. Nothing is downloaded: the source comes from the installed package.
 *
 * @example
 * const tools = await buildLlamaTools({ onProgress: (e) => e.percent && console.log(e.percent) });
 * console.log(tools.paths['llama-server']);
 */
export async function buildLlamaTools(options: BuildLlamaToolsOptions = {}): Promise<LlamaTools> {
  const source = options.source ?? locateLlamaCppSource();
  const cacheDir = options.cacheDir ?? llamaToolsCacheDir(source.tag);
  if (!options.force) {
    const cached = findLlamaTools({ cacheDir, tag: source.tag, searchPath: false });
    if (cached) return cached;
  }
  const spawn = options.spawn ?? nodeSpawn;
  const srcDir = path.join(cacheDir, 'src');
  const buildDir = path.join(cacheDir, 'build');
  const onLine = progressLines(options.onProgress);
  fs.mkdirSync(cacheDir, { recursive: true });
  await ensureSource(srcDir, source, { spawn, signal: options.signal, onLine });
  await run('cmake', cmakeConfigureArgs(srcDir, buildDir, os.arch()), {
    spawn,
    signal: options.signal,
    onLine,
  });
  const jobs = String(options.jobs ?? Math.max(1, os.availableParallelism()));
  await run(
    'cmake',
    ['--build', buildDir, '--config', 'Release', '-j', jobs, '--target', ...LLAMA_TOOL_NAMES],
    { spawn, signal: options.signal, onLine },
  );
  const tools = findLlamaTools({ cacheDir, tag: source.tag, searchPath: false });
  if (!tools) {
    throw new LlamaToolsError(
      'BUILD_FAILED',
      `The build finished but the tools are missing from ${path.join(buildDir, 'bin')}.`,
      { details: { buildDir } },
    );
  }
  fs.writeFileSync(
    path.join(cacheDir, 'alki-build.json'),
    `${JSON.stringify({ tag: source.tag, nodeLlamaCppVersion: source.nodeLlamaCppVersion, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );
  return tools;
}
