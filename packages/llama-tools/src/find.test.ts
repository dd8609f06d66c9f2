import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findLlamaTools, requireLlamaTool } from './find.js';
import { LlamaToolsError } from './errors.js';
import { LLAMA_TOOL_NAMES } from './tools.js';

function makeTools(dir: string, names: readonly string[] = LLAMA_TOOL_NAMES): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of names) fs.writeFileSync(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
}

describe('findLlamaTools', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-find-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds a complete build in the cache directory', () => {
    const cacheDir = path.join(root, 'cache');
    makeTools(path.join(cacheDir, 'build', 'bin'));
    const tools = findLlamaTools({ cacheDir, tag: 'v9', searchPath: false, env: {} });
    expect(tools?.tag).toBe('v9');
    expect(tools?.paths['llama-server']).toBe(path.join(cacheDir, 'build', 'bin', 'llama-server'));
  });

  it('ignores a build that lacks one of the tools', () => {
    const cacheDir = path.join(root, 'cache');
    makeTools(path.join(cacheDir, 'build', 'bin'), ['llama-quantize', 'llama-server', 'llama-bench']);
    expect(findLlamaTools({ cacheDir, searchPath: false, env: {} })).toBeUndefined();
  });

  it('prefers $ALKI_LLAMA_BIN_DIR over the cache and PATH', () => {
    const custom = path.join(root, 'custom');
    const cacheDir = path.join(root, 'cache');
    makeTools(custom);
    makeTools(path.join(cacheDir, 'build', 'bin'));
    const tools = findLlamaTools({ cacheDir, env: { ALKI_LLAMA_BIN_DIR: custom } });
    expect(tools?.binDir).toBe(custom);
    expect(tools?.tag).toBe('custom');
  });

  it('falls back to PATH when the cache is empty', () => {
    const onPath = path.join(root, 'bin');
    makeTools(onPath);
    const tools = findLlamaTools({ cacheDir: path.join(root, 'empty'), env: { PATH: onPath } });
    expect(tools?.binDir).toBe(onPath);
  });

  it('ignores files that are not executable', () => {
    const onPath = path.join(root, 'bin');
    makeTools(onPath);
    fs.chmodSync(path.join(onPath, 'llama-bench'), 0o644);
    expect(findLlamaTools({ cacheDir: path.join(root, 'empty'), env: { PATH: onPath } })).toBeUndefined();
  });
});

describe('requireLlamaTool', () => {
  it('throws TOOL_NOT_FOUND with a hint to run `alki tools build`', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-none-'));
    try {
      let caught: unknown;
      try {
        requireLlamaTool('llama-server', { cacheDir: empty, env: { PATH: empty } });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(LlamaToolsError);
      expect((caught as LlamaToolsError).code).toBe('TOOL_NOT_FOUND');
      expect((caught as LlamaToolsError).category).toBe('environment');
      expect((caught as LlamaToolsError).hint).toContain('alki tools build');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
