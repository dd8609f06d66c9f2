import fs from 'node:fs';
import path from 'node:path';
import { LlamaToolsError } from './errors.js';
import { llamaToolsCacheDir, locateLlamaCppSource } from './source.js';
import { LLAMA_TOOL_NAMES, type LlamaToolName, type LlamaTools } from './tools.js';

export interface FindLlamaToolsOptions {
  cacheDir?: string;
  tag?: string;
  /** Also look on PATH (and in `$ALKI_LLAMA_BIN_DIR`) when the cache has no build. Default true. */
  searchPath?: boolean;
  env?: NodeJS.ProcessEnv;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function completeIn(binDir: string): Record<LlamaToolName, string> | undefined {
  const paths = Object.fromEntries(LLAMA_TOOL_NAMES.map((name) => [name, path.join(binDir, name)])) as Record<
    LlamaToolName,
    string
  >;
  return Object.values(paths).every(isExecutable) ? paths : undefined;
}

/**
 * Finds a complete set of native tools: first `$ALKI_LLAMA_BIN_DIR`, then the
 * versioned cache that `buildLlamaTools` fills, then PATH. Returns undefined
 * when none has all of them.
 */
export function findLlamaTools(options: FindLlamaToolsOptions = {}): LlamaTools | undefined {
  const env = options.env ?? process.env;
  const candidates: Array<{ dir: string; tag: string }> = [];
  if (env.ALKI_LLAMA_BIN_DIR) candidates.push({ dir: env.ALKI_LLAMA_BIN_DIR, tag: 'custom' });
  let tag = options.tag;
  let cacheDir = options.cacheDir;
  if (!cacheDir) {
    try {
      tag = locateLlamaCppSource().tag;
      cacheDir = llamaToolsCacheDir(tag, env);
    } catch {
      // No node-llama-cpp: only PATH can help.
    }
  }
  if (cacheDir) candidates.push({ dir: path.join(cacheDir, 'build', 'bin'), tag: tag ?? 'unknown' });
  if (options.searchPath !== false) {
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean))
      candidates.push({ dir, tag: 'path' });
  }
  for (const candidate of candidates) {
    const paths = completeIn(candidate.dir);
    if (paths) return { tag: candidate.tag, binDir: candidate.dir, paths };
  }
  return undefined;
}

/** The first executable `name` in `env.PATH`'s directories, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Like findLlamaTools, but one tool, with an error that says how to get it. */
export function requireLlamaTool(name: LlamaToolName, options: FindLlamaToolsOptions = {}): string {
  const tools = findLlamaTools(options);
  if (tools) return tools.paths[name];
  const onPath = findOnPath(name, options.env ?? process.env);
  if (onPath) return onPath;
  throw new LlamaToolsError('TOOL_NOT_FOUND', `${name} was not found in the Alki cache or on PATH.`, {
    details: { tool: name },
    hint: 'Build the native tools with `alki tools build` (about 7 minutes on 2 cores), or put llama.cpp on PATH.',
  });
}
