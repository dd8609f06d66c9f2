import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findLlamaTools, locateLlamaCppSource, type LlamaTools } from '@alki/llama-tools';
import type { BindingProbe, RunResult } from './types.js';

/**
 * Everything the checks learn about the machine, as small injectable
 * functions. `systemProbes()` gives the real ones; tests pass another root,
 * PATH or environment, or fakes.
 */
export interface DoctorProbes {
  /** The environment the commands would run with (PATH, HF_*, CONTAINERS_CONF, ...). */
  env: NodeJS.ProcessEnv;
  /** Prefix for system paths such as /usr/libexec/podman/catatonit or /proc/cpuinfo; `/` on a real machine. */
  root: string;
  nodeVersion: string;
  isExecutable(file: string): Promise<boolean>;
  /** A file's text, or undefined when it cannot be read. */
  readText(file: string): Promise<string | undefined>;
  run(program: string, args: string[], timeoutMs: number): Promise<RunResult>;
  /** Free bytes on the file system of `dir`, or of its nearest existing parent. */
  freeBytes(dir: string): Promise<{ checked: string; bytes: number } | undefined>;
  /** Whether `dir`, or its nearest existing parent (where it would be created), is writable. */
  isWritable(dir: string): Promise<boolean>;
  /** Loads node-llama-cpp's CPU binding in a child process (a binary built for other CPUs kills it with SIGILL). */
  loadBinding(): Promise<BindingProbe>;
  findLlamaTools(): LlamaTools | undefined;
  /** The llama.cpp tag node-llama-cpp bundles, which `alki tools build` compiles. */
  llamaCppTag(): string | undefined;
}

const require = createRequire(import.meta.url);

export interface SystemProbeOptions {
  env?: NodeJS.ProcessEnv;
  root?: string;
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await fs.access(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

function runProgram(program: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv) {
  return new Promise<RunResult>((resolve) => {
    execFile(
      program,
      args,
      { env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ status: 0, stdout, stderr });
        const failure = error as NodeJS.ErrnoException & {
          killed?: boolean;
          signal?: string;
          code?: unknown;
        };
        const status = typeof failure.code === 'number' ? failure.code : null;
        const why = failure.killed
          ? `no answer within ${timeoutMs / 1000} s`
          : typeof failure.code === 'string'
            ? failure.code
            : failure.signal
              ? `killed by ${failure.signal}`
              : undefined;
        resolve({ status, stdout, stderr, ...(why ? { error: why } : {}) });
      },
    );
  });
}

// The child's script, written to a temp file (not `node -e`: node-llama-cpp
// tests its binary in a grandchild that inherits execArgv, which would run an
// eval script again). It loads the CPU build as `alki validate` does and
// prints what llama.cpp reports on its last line.
const BINDING_SCRIPT = (entry: string) => `
import { getLlama, LlamaLogLevel } from ${JSON.stringify(entry)};
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
console.log(JSON.stringify({ systemInfo: llama.systemInfo, release: llama.llamaCppRelease.release, buildType: llama.buildType }));
await llama.dispose();
`;

async function loadBinding(env: NodeJS.ProcessEnv): Promise<BindingProbe> {
  let entry: string;
  let version: string;
  try {
    entry = pathToFileURL(require.resolve('node-llama-cpp')).href;
    version = locateLlamaCppSource().nodeLlamaCppVersion;
  } catch (error) {
    return { loaded: false, error: `node-llama-cpp is not installed (${(error as Error).message})` };
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alki-doctor-'));
  try {
    const script = path.join(dir, 'load-binding.mjs');
    await fs.writeFile(script, BINDING_SCRIPT(entry));
    return await new Promise<BindingProbe>((resolve) => {
      const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', (error) => resolve({ loaded: false, error: error.message }));
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        const last = stdout.trim().split('\n').pop() ?? '';
        if (status === 0 && last.startsWith('{')) {
          const info = JSON.parse(last) as { systemInfo: string; release: string; buildType: string };
          resolve({ loaded: true, ...info, nodeLlamaCppVersion: version });
          return;
        }
        const why =
          signal === 'SIGILL'
            ? 'the binary uses a CPU instruction this CPU does not have (SIGILL)'
            : signal
              ? `killed by ${signal}`
              : stderr.trim().split('\n').pop() || `exit ${status}`;
        resolve({ loaded: false, error: why });
      });
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The real machine, seen through `env` (default process.env) and `root`
 * (default `/`).
 *
 * @example
 * const report = await runDoctor(systemProbes({ root: '/mnt/image' }));
 */
export function systemProbes(options: SystemProbeOptions = {}): DoctorProbes {
  const env = options.env ?? process.env;
  return {
    env,
    root: options.root ?? '/',
    nodeVersion: process.versions.node,
    async isExecutable(file) {
      try {
        await fs.access(file, constants.X_OK);
        return (await fs.stat(file)).isFile();
      } catch {
        return false;
      }
    },
    readText: (file) => fs.readFile(file, 'utf8').catch(() => undefined),
    run: (program, args, timeoutMs) => runProgram(program, args, timeoutMs, env),
    async freeBytes(dir) {
      const checked = await nearestExisting(dir);
      try {
        const stats = await fs.statfs(checked);
        return { checked, bytes: stats.bavail * stats.bsize };
      } catch {
        return undefined;
      }
    },
    async isWritable(dir) {
      try {
        await fs.access(await nearestExisting(dir), constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
    loadBinding: () => loadBinding(env),
    findLlamaTools: () => findLlamaTools({ env }),
    llamaCppTag() {
      try {
        return locateLlamaCppSource().tag;
      } catch {
        return undefined;
      }
    },
  };
}
