import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LlamaToolsError } from './errors.js';

const require = createRequire(import.meta.url);

/** Where node-llama-cpp keeps the llama.cpp source it was built from, and which tag that is. */
export interface LlamaCppSource {
  /** The llama.cpp release tag that node-llama-cpp bundles, e.g. `v0.4.0`. */
  tag: string;
  /** The git bundle holding exactly that source. */
  bundlePath: string;
  /** node-llama-cpp's own version. */
  nodeLlamaCppVersion: string;
}

/** Finds the llama.cpp source bundle shipped inside the installed node-llama-cpp. */
export function locateLlamaCppSource(resolve: (id: string) => string = require.resolve): LlamaCppSource {
  let packageDir: string;
  try {
    // node-llama-cpp's exports map hides package.json, so resolve its entry
    // point and walk up to the package root.
    packageDir = packageRootOf(resolve('node-llama-cpp'));
  } catch (cause) {
    throw new LlamaToolsError(
      'SOURCE_BUNDLE_MISSING',
      'node-llama-cpp is not installed, so the llama.cpp source is not available.',
      {
        cause,
        hint: 'Run `npm ci` in the Alki checkout.',
      },
    );
  }
  const llamaDir = path.join(packageDir, 'llama');
  const bundlePath = path.join(llamaDir, 'gitRelease.bundle');
  if (!fs.existsSync(bundlePath)) {
    throw new LlamaToolsError(
      'SOURCE_BUNDLE_MISSING',
      `node-llama-cpp has no llama.cpp source bundle at ${bundlePath}.`,
      {
        details: { bundlePath },
        hint: 'Reinstall node-llama-cpp (`npm ci`); its package ships llama/gitRelease.bundle.',
      },
    );
  }
  const info = JSON.parse(fs.readFileSync(path.join(llamaDir, 'llama.cpp.info.json'), 'utf8')) as {
    tag: string;
  };
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { tag: info.tag, bundlePath, nodeLlamaCppVersion: pkg.version };
}

function packageRootOf(entry: string): string {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'llama'))) return dir;
  }
  throw new Error(`no node-llama-cpp package root above ${entry}`);
}

/** `$XDG_CACHE_HOME/alki/llama.cpp/<tag>`, falling back to `~/.cache`. */
export function llamaToolsCacheDir(tag: string, env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'alki', 'llama.cpp', tag);
}
