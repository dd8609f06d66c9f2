import { spawn as nodeSpawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  cmakeConfigureArgs,
  ensureSource,
  progressLines,
  run,
  type BuildLlamaToolsOptions,
} from './build.js';
import { LlamaToolsError } from './errors.js';
import { findOnPath } from './find.js';
import { llamaToolsCacheDir, locateLlamaCppSource } from './source.js';

/** A platform llama-server is cross-compiled for, with the Debian cross toolchain that builds it. */
export interface CrossTarget {
  /** The OCI platform: `linux/arm64`. */
  platform: string;
  /** The GNU triplet of the cross compilers (`aarch64-linux-gnu-gcc`) and of their sysroot. */
  triplet: string;
  /** CMAKE_SYSTEM_PROCESSOR. */
  processor: string;
  /** ggml's CPU flags: a baseline every device of the platform runs. */
  cpuFlags: string[];
  /** The Debian packages of the cross toolchain. */
  debianPackages: string[];
}

/**
 * The platforms `alki tools build --platform` cross-compiles llama-server for.
 * linux/arm64 targets ARMv8.0-A, which every 64-bit Raspberry Pi, Jetson and
 * Graviton runs; dot-product and SVE kernels are left to a native build.
 */
export const CROSS_TARGETS: Record<string, CrossTarget> = {
  'linux/arm64': {
    platform: 'linux/arm64',
    triplet: 'aarch64-linux-gnu',
    processor: 'aarch64',
    cpuFlags: ['-DGGML_CPU_ARM_ARCH=armv8-a'],
    debianPackages: ['g++-aarch64-linux-gnu'],
  },
};

/** A cross-compiled llama-server and the toolchain that built it. */
export interface CrossLlamaServer {
  platform: string;
  llamaServer: string;
  /** The target's libraries: what an image needs beside the binary. */
  sysroot: string;
  /** The target's C compiler, for static helpers built beside the server. */
  compiler: string;
}

export function crossTarget(platform: string): CrossTarget {
  const target = CROSS_TARGETS[platform];
  if (!target)
    throw new LlamaToolsError(
      'UNSUPPORTED_PLATFORM',
      `llama-server cannot be cross-built for ${platform}; the platforms are ${Object.keys(CROSS_TARGETS).join(', ')}.`,
      { category: 'usage', details: { platform } },
    );
  return target;
}

function crossCacheDir(tag: string, target: CrossTarget, env: NodeJS.ProcessEnv): string {
  return path.join(llamaToolsCacheDir(tag, env), 'cross', target.platform.replace('/', '-'));
}

function crossBuild(target: CrossTarget, cacheDir: string): CrossLlamaServer {
  return {
    platform: target.platform,
    llamaServer: path.join(cacheDir, 'build', 'bin', 'llama-server'),
    sysroot: `/usr/${target.triplet}`,
    compiler: `${target.triplet}-gcc`,
  };
}

/** The cross-built llama-server for `platform` in the cache, or undefined when it was not built. */
export function findCrossLlamaServer(
  platform: string,
  options: { tag?: string; env?: NodeJS.ProcessEnv } = {},
): CrossLlamaServer | undefined {
  const target = crossTarget(platform);
  const env = options.env ?? process.env;
  const built = crossBuild(target, crossCacheDir(options.tag ?? locateLlamaCppSource().tag, target, env));
  return fs.existsSync(built.llamaServer) && fs.existsSync(built.sysroot) ? built : undefined;
}

/**
 * Cross-compiles llama-server for another platform from the same bundled
 * llama.cpp source as the native tools (Debian's cross toolchain, a portable
 * static-ggml CPU build), into the tools' cache beside the native build.
 *
 * @example
 * const arm = await buildCrossLlamaServer('linux/arm64');
 * console.log(arm.llamaServer); // ~/.cache/alki/llama.cpp/<tag>/cross/linux-arm64/build/bin/llama-server
 */
export async function buildCrossLlamaServer(
  platform: string,
  options: Omit<BuildLlamaToolsOptions, 'cacheDir'> & { env?: NodeJS.ProcessEnv } = {},
): Promise<CrossLlamaServer> {
  const target = crossTarget(platform);
  const source = options.source ?? locateLlamaCppSource();
  const env = options.env ?? process.env;
  const cacheDir = crossCacheDir(source.tag, target, env);
  const built = crossBuild(target, cacheDir);
  if (!options.force && fs.existsSync(built.llamaServer)) return built;
  const spawn = options.spawn ?? nodeSpawn;
  const onLine = progressLines(options.onProgress);
  const step = { spawn, signal: options.signal, onLine };
  if (!findOnPath(`${target.triplet}-g++`, env))
    throw new LlamaToolsError(
      'BUILD_TOOL_MISSING',
      `\`${target.triplet}-g++\` is not installed; it is needed to cross-build llama-server for ${platform}.`,
      { hint: `Debian: apt-get install ${target.debianPackages.join(' ')}`, details: { platform } },
    );
  const srcDir = path.join(llamaToolsCacheDir(source.tag, env), 'src');
  fs.mkdirSync(cacheDir, { recursive: true });
  await ensureSource(srcDir, source, step);
  const buildDir = path.join(cacheDir, 'build');
  await run(
    'cmake',
    [
      ...cmakeConfigureArgs(srcDir, buildDir, target.processor),
      '-DCMAKE_SYSTEM_NAME=Linux',
      `-DCMAKE_SYSTEM_PROCESSOR=${target.processor}`,
      `-DCMAKE_C_COMPILER=${target.triplet}-gcc`,
      `-DCMAKE_CXX_COMPILER=${target.triplet}-g++`,
      ...target.cpuFlags,
    ],
    step,
  );
  const jobs = String(options.jobs ?? Math.max(1, os.availableParallelism()));
  await run(
    'cmake',
    ['--build', buildDir, '--config', 'Release', '-j', jobs, '--target', 'llama-server'],
    step,
  );
  if (!fs.existsSync(built.llamaServer))
    throw new LlamaToolsError('BUILD_FAILED', `The build finished but ${built.llamaServer} is missing.`, {
      details: { buildDir },
    });
  return built;
}
