import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { buildLlamaTools, type Spawn } from './build.js';
import { buildCrossLlamaServer, crossTarget } from './cross.js';
import { LlamaToolsError } from './errors.js';
import { llamaToolsCacheDir, locateLlamaCppSource } from './source.js';
import { LLAMA_TOOL_NAMES } from './tools.js';

interface Call {
  command: string;
  args: string[];
}

// A spawner that plays the part of git and cmake: it records each call, prints
// cmake-style progress lines, and creates the files a real run would create.
function fakeToolchain(calls: Call[], exitCodes: Record<string, number> = {}): Spawn {
  return (command, args) => {
    calls.push({ command, args });
    const child = new EventEmitter() as ChildProcess;
    const stdout = new PassThrough();
    Object.assign(child, { stdout, stderr: new PassThrough() });
    setImmediate(() => {
      if (command === 'git') {
        fs.mkdirSync(args[3], { recursive: true });
        fs.writeFileSync(path.join(args[3], 'CMakeLists.txt'), '');
      }
      if (command === 'cmake' && args[0] === '--build') {
        const bin = path.join(args[1], 'bin');
        fs.mkdirSync(bin, { recursive: true });
        for (const name of LLAMA_TOOL_NAMES) fs.writeFileSync(path.join(bin, name), '', { mode: 0o755 });
        stdout.write('[ 50%] Building CXX object a.o\n[100%] Built target llama-server\n');
      }
      stdout.end();
      child.emit('close', exitCodes[args[0] === '--build' ? 'build' : command] ?? 0);
    });
    return child;
  };
}

const source = { tag: 'vtest', bundlePath: '/nonexistent/gitRelease.bundle', nodeLlamaCppVersion: '0.0.0' };

describe('buildLlamaTools', () => {
  it('clones the bundle, configures a portable static CPU build, builds every tool and reports progress', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-build-'));
    const calls: Call[] = [];
    const percents: number[] = [];
    try {
      const tools = await buildLlamaTools({
        source,
        cacheDir,
        spawn: fakeToolchain(calls),
        jobs: 2,
        onProgress: (e) => e.percent !== undefined && percents.push(e.percent),
      });
      expect(calls.map((c) => c.command)).toEqual(['git', 'cmake', 'cmake']);
      expect(calls[0].args.slice(0, 3)).toEqual(['clone', '--quiet', source.bundlePath]);
      const configure = calls[1].args;
      expect(configure).toEqual(
        expect.arrayContaining([
          '-DGGML_NATIVE=OFF',
          '-DBUILD_SHARED_LIBS=OFF',
          '-DLLAMA_CURL=OFF',
          '-DCMAKE_BUILD_TYPE=Release',
        ]),
      );
      expect(calls[2].args).toEqual([
        '--build',
        path.join(cacheDir, 'build'),
        '--config',
        'Release',
        '-j',
        '2',
        '--target',
        ...LLAMA_TOOL_NAMES,
      ]);
      expect(percents).toEqual([50, 100]);
      expect(tools.paths['llama-quantize']).toBe(path.join(cacheDir, 'build', 'bin', 'llama-quantize'));
      const record = JSON.parse(fs.readFileSync(path.join(cacheDir, 'alki-build.json'), 'utf8')) as {
        tag: string;
      };
      expect(record.tag).toBe('vtest');
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('reuses a complete cached build without running anything', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-build-'));
    try {
      await buildLlamaTools({ source, cacheDir, spawn: fakeToolchain([]) });
      const calls: Call[] = [];
      await buildLlamaTools({ source, cacheDir, spawn: fakeToolchain(calls) });
      expect(calls).toEqual([]);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('fails with BUILD_FAILED and the tail of the output when the compile fails', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-build-'));
    try {
      const failing = buildLlamaTools({ source, cacheDir, spawn: fakeToolchain([], { build: 2 }) });
      await expect(failing).rejects.toBeInstanceOf(LlamaToolsError);
      await expect(failing).rejects.toMatchObject({ code: 'BUILD_FAILED', details: { exitCode: 2 } });
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('says how to install the build tools when git or cmake is missing', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-build-'));
    const withoutPath: Spawn = (command, args, options) =>
      nodeSpawn(command, args, { ...options, env: { PATH: '/nonexistent' } });
    try {
      const failing = buildLlamaTools({ source, cacheDir, spawn: withoutPath });
      await expect(failing).rejects.toMatchObject({ code: 'BUILD_TOOL_MISSING', category: 'environment' });
      await expect(failing).rejects.toHaveProperty('hint', expect.stringContaining('apt-get install cmake'));
      expect(fs.readdirSync(cacheDir)).toEqual([]);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('locateLlamaCppSource', () => {
  it('finds the git bundle and tag that the installed node-llama-cpp ships', () => {
    const located = locateLlamaCppSource();
    expect(fs.statSync(located.bundlePath).size).toBeGreaterThan(1_000_000);
    expect(located.tag).toMatch(/^[vb]\d/);
    expect(located.nodeLlamaCppVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('explains that npm ci is needed when node-llama-cpp is missing', () => {
    expect(() =>
      locateLlamaCppSource(() => {
        throw new Error('Cannot find module');
      }),
    ).toThrow(expect.objectContaining({ code: 'SOURCE_BUNDLE_MISSING' }));
  });
});

describe('llamaToolsCacheDir', () => {
  it('uses $XDG_CACHE_HOME/alki/llama.cpp/<tag>', () => {
    expect(llamaToolsCacheDir('v1', { XDG_CACHE_HOME: '/c' })).toBe('/c/alki/llama.cpp/v1');
  });
});

describe('buildCrossLlamaServer', () => {
  // A cache home and a PATH whose only compiler is a stand-in for Debian's cross g++.
  function crossWorld(withCompiler: boolean) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cross-'));
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    if (withCompiler) fs.writeFileSync(path.join(bin, 'aarch64-linux-gnu-g++'), '', { mode: 0o755 });
    return { home, env: { XDG_CACHE_HOME: home, PATH: bin } };
  }

  it('cross-compiles llama-server alone for linux/arm64, from the native build source, into its own cache', async () => {
    const { home, env } = crossWorld(true);
    const calls: Call[] = [];
    try {
      const built = await buildCrossLlamaServer('linux/arm64', { source, env, spawn: fakeToolchain(calls) });
      const cacheDir = llamaToolsCacheDir('vtest', env);
      expect(calls.map((c) => c.command)).toEqual(['git', 'cmake', 'cmake']);
      // The clone is the native build's, shared.
      expect(calls[0].args[3]).toBe(`${path.join(cacheDir, 'src')}.partial-${process.pid}`);
      const configure = calls[1].args;
      expect(configure).toEqual(
        expect.arrayContaining([
          '-DCMAKE_SYSTEM_NAME=Linux',
          '-DCMAKE_SYSTEM_PROCESSOR=aarch64',
          '-DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc',
          '-DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++',
          '-DGGML_CPU_ARM_ARCH=armv8-a',
          '-DGGML_NATIVE=OFF',
          '-DBUILD_SHARED_LIBS=OFF',
        ]),
      );
      expect(configure.filter((arg) => arg.startsWith('-DGGML_AVX'))).toEqual([]);
      expect(calls[2].args.slice(-2)).toEqual(['--target', 'llama-server']);
      expect(built).toEqual({
        platform: 'linux/arm64',
        llamaServer: path.join(cacheDir, 'cross', 'linux-arm64', 'build', 'bin', 'llama-server'),
        sysroot: '/usr/aarch64-linux-gnu',
        compiler: 'aarch64-linux-gnu-gcc',
      });
      // Built once: a second call runs nothing.
      const again: Call[] = [];
      await buildCrossLlamaServer('linux/arm64', { source, env, spawn: fakeToolchain(again) });
      expect(again).toEqual([]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('names the Debian package when the cross compiler is missing, before running anything', async () => {
    const { home, env } = crossWorld(false);
    const calls: Call[] = [];
    try {
      const failing = buildCrossLlamaServer('linux/arm64', { source, env, spawn: fakeToolchain(calls) });
      await expect(failing).rejects.toMatchObject({ code: 'BUILD_TOOL_MISSING', category: 'environment' });
      await expect(failing).rejects.toHaveProperty('hint', 'Debian: apt-get install g++-aarch64-linux-gnu');
      expect(calls).toEqual([]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses a platform it has no toolchain for, naming the ones it has', () => {
    expect(() => crossTarget('linux/riscv64')).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_PLATFORM',
        category: 'usage',
        message: expect.stringContaining('linux/arm64'),
      }),
    );
  });
});
